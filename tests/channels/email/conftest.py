from __future__ import annotations

import socket

import pytest

from casework.channels.email.models import Mailbox
from tests.factories import CaseTypeFactory, QueueFactory, ResolutionCodeFactory


@pytest.fixture
def mailbox(db):  # noqa: ANN001, ANN201
    ResolutionCodeFactory()
    case_type = CaseTypeFactory(code="cs-support", service_type="support")
    return Mailbox.objects.create(
        address="service@demo.casework.test",
        display_name="Mitgliederservice",
        case_type=case_type,
        queue=QueueFactory(code="cs-service"),
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
