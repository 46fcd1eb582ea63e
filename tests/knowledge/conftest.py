"""A case whose customer asked about calls abroad by e-mail, and the articles that answer
it: one public, one internal, one about something else."""

from __future__ import annotations

import pytest

from casework.cases.models import Case
from casework.channels.email.models import Mailbox
from casework.channels.email.services import receive_email
from casework.knowledge.models import Article, ReplyTemplate, Visibility
from tests.factories import IdentifierFactory
from tests.knowledge.factories import ArticleFactory

QUESTION = (
    "Guten Tag,\r\n\r\nich mache ein Praktikum in Japan. Was kosten Anrufe im Ausland, und "
    "gibt es eine Option dafuer?\r\n\r\nViele Gruesse\r\nLisa"
)


@pytest.fixture
def articles(db) -> dict[str, Article]:  # noqa: ANN001
    return {
        "welt": ArticleFactory(
            code="option-welt",
            title="Auslandstarife und Option Welt",
            summary="Günstig telefonieren außerhalb der EU.",
            keywords="Ausland, Japan, Praktikum",
            body="Mit der **Option Welt** telefonieren Sie in Japan für 9 Cent pro Minute.",
        ),
        "kulanz": ArticleFactory(
            code="kulanz-ausland",
            title="Kulanz bei Auslandsrechnungen",
            visibility=Visibility.INTERNAL,
            body="Bis zu 50 % der Kosten im Ausland gutschreiben.",
        ),
        "esim": ArticleFactory(code="esim", title="eSIM bestellen", body="QR-Code scannen."),
    }


@pytest.fixture
def template(db) -> ReplyTemplate:  # noqa: ANN001
    return ReplyTemplate.objects.create(
        code="ausland",
        language="de",
        name="Option Welt empfehlen",
        body="Guten Tag {{ customer.name }},\n\nfür Ihr Praktikum in Japan empfehlen wir die "
        "Option Welt.",
    )


@pytest.fixture
def case(email_intake) -> Case:  # noqa: ANN001
    """Lisa's e-mail, received by a mailbox, opened a case that can be answered."""
    IdentifierFactory(
        kind="email",
        value="lisa@example.de",
        customer__first_name="Lisa",
        customer__last_name="Schneider",
    )
    Mailbox.objects.create(
        address="kundenservice@demo.casework.test",
        display_name="Kundenservice",
        case_type=email_intake.case_type,
        acknowledges=False,
    )
    raw = (
        "From: Lisa Schneider <lisa@example.de>\r\nTo: kundenservice@demo.casework.test\r\n"
        "Subject: Telefonieren im Ausland\r\nMessage-ID: <l-1@example.de>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n" + QUESTION + "\r\n"
    ).encode()
    receive_email(raw, envelope_from="", recipients=["kundenservice@demo.casework.test"])
    return Case.objects.get()
