"""How the case screen names what the classifiers recognised: fixed codes translated, a
topic by its skill's name in the reader's language, anything else as it is."""

from __future__ import annotations

import pytest
from django.utils import translation

from casework.web.templatetags.desk import label_name, task_label
from tests.factories import SkillFactory

pytestmark = pytest.mark.django_db


def test_labels_in_the_readers_language():
    SkillFactory(code="topic-royalties", name_de="Ausschüttung", name_en="Royalties")

    with translation.override("de"):
        assert label_name("topic-royalties") == "Ausschüttung"
        assert label_name("high") == "Hoch"
        assert task_label("topic") == "Thema"
    with translation.override("en"):
        assert label_name("topic-royalties") == "Royalties"
        assert label_name("negative") == "Negative"
        assert label_name("something-else") == "Something-else"
