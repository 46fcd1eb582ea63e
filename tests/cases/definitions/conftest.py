from __future__ import annotations

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english_messages():  # noqa: ANN202
    """The assertions read the English source messages, whatever the catalogue holds."""
    with translation.override("en"):
        yield
