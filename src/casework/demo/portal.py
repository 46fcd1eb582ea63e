"""The demo's customer portal: the forms customers may start there (a work registration
and a question for the collecting society's members, a contract change for the telecom
customers), answers on Lisa's and Dr. Jana Wolff's cases so both see a conversation, and
an offer an agent proposed to Lisa for the portal.

Idempotent like the rest of the demo. `portal_sign_in_link()` makes a fresh sign-in link
for a demo customer (mailed to the demo's outbox as well), for the start-up output.
"""

from __future__ import annotations

import contextlib

from django.conf import settings

from casework.cases.models import Case
from casework.customers.models import Customer
from casework.demo.loading import DEMO_ACTOR, _agent_actor, _ago, _interaction
from casework.events.services import recording_transaction
from casework.interactions.models import Interaction
from casework.kernel.errors import DomainError
from casework.offers.services import propose_offer
from casework.portal import signin
from casework.portal.mail import sender_mailbox
from casework.portal.models import PortalForm

LISA = "K10000002"
MEMBER = "K10000003"  # Dr. Jana Wolff, member of the collecting society

_TOPICS = {
    "membership": {"de": "Mitgliedschaft", "en": "Membership"},
    "work_registration": {"de": "Werkanmeldung", "en": "Work registration"},
    "licensing": {"de": "Lizenzen", "en": "Licensing"},
    "distribution": {"de": "Ausschüttung", "en": "Distribution"},
    "other": {"de": "Sonstiges", "en": "Other"},
}
_MEMBER_NUMBER = {
    "de": "Mitgliedsnummer",
    "en": "Member number",
    "hint": {"de": "6 bis 10 Ziffern, z. B. 104233", "en": "6 to 10 digits, e.g. 104233"},
}

FORMS = [
    {
        "code": "work-registration",
        "case_type": "collecting-society-request",
        "title_de": "Werk anmelden",
        "title_en": "Register a work",
        "intro_de": "Melden Sie ein neues Werk an. Wir bestätigen die Anmeldung im Portal.",
        "intro_en": "Register a new work. We confirm the registration in the portal.",
        "fields": ["member_number", "work_title", "question"],
        "required": ["member_number", "work_title"],
        "preset": {"topic": "work_registration"},
        "service_type": "support",
        "position": 10,
        "labels": {
            "member_number": _MEMBER_NUMBER,
            "work_title": {"de": "Titel des Werks", "en": "Title of the work"},
            "question": {
                "de": "Angaben zum Werk (Urheber, Verlag, Erscheinungsdatum)",
                "en": "About the work (authors, publisher, release date)",
            },
        },
    },
    {
        "code": "member-question",
        "case_type": "collecting-society-request",
        "title_de": "Frage an die Mitgliederbetreuung",
        "title_en": "Ask member services",
        "intro_de": "Fragen zu Mitgliedschaft, Lizenzen oder Ausschüttung.",
        "intro_en": "Questions about membership, licensing or distribution.",
        "fields": ["topic", "member_number", "work_title", "question"],
        "required": ["topic", "question"],
        "preset": {},
        "service_type": "advice",
        "position": 20,
        "labels": {
            "topic": {"de": "Thema", "en": "Topic", "choices": _TOPICS},
            "member_number": _MEMBER_NUMBER,
            "work_title": {
                "de": "Werk (falls es um eines geht)",
                "en": "Work (if it is about one)",
            },
            "question": {"de": "Ihre Frage", "en": "Your question"},
        },
    },
    {
        "code": "contract-change",
        "case_type": "telecom-contract-change",
        "title_de": "Vertrag ändern",
        "title_en": "Change my contract",
        "intro_de": "Option buchen oder kündigen, Tarif wechseln, Vertrag per Post.",
        "intro_en": "Book or stop an option, change the tariff, contract by post.",
        "fields": ["request", "option_code", "new_tariff"],
        "required": ["request"],
        "preset": {},
        "service_type": "support",
        "position": 30,
        "labels": {
            "request": {
                "de": "Was möchten Sie ändern?",
                "en": "What would you like to change?",
                "choices": {
                    "book_option": {"de": "Option buchen", "en": "Book an option"},
                    "stop_option": {"de": "Option kündigen", "en": "Stop an option"},
                    "change_tariff": {"de": "Tarif wechseln", "en": "Change the tariff"},
                    "send_contract_by_post": {
                        "de": "Vertrag per Post senden",
                        "en": "Send the contract by post",
                    },
                },
            },
            "option_code": {
                "de": "Options-Code",
                "en": "Option code",
                "hint": {"de": "z. B. INTL_WELT", "en": "e.g. INTL_WELT"},
            },
            "new_tariff": {
                "de": "Neuer Tarif",
                "en": "New tariff",
                "choices": {
                    "basic": {"de": "Basis", "en": "Basic"},
                    "plus": {"de": "Plus", "en": "Plus"},
                    "premium": {"de": "Premium", "en": "Premium"},
                },
            },
        },
    },
]


def load_portal() -> None:
    for values in FORMS:
        PortalForm.objects.get_or_create(code=values["code"], defaults=values)
    _answer_lisa()
    _answer_member()
    _propose_to_lisa()


@recording_transaction()
def _answer_lisa() -> None:
    lisa = Customer.objects.get(customer_number=LISA)
    case = Case.objects.filter(customer=lisa, subject__startswith="Chat:").order_by("pk").first()
    if case is None or Interaction.objects.filter(case=case, direction="outbound").exists():
        return
    _interaction(
        lisa,
        case.pk,
        "email",
        "outbound",
        _ago(1, 20),
        "Ihr Rückruf zum Praktikum in Japan",
        "Hallo Lisa, danke für deine Fragen im Chat. Wir rufen dich morgen zwischen 10 und "
        "12 Uhr zurück. Die Option Welt findest du schon jetzt im Kundenportal unter "
        "„Angebote“.",
        agent=_agent_actor("anna"),
        sender="kundenservice@demo.casework.test",
    )


@recording_transaction()
def _answer_member() -> None:
    jana = Customer.objects.get(customer_number=MEMBER)
    case = Case.objects.filter(customer=jana, case_type__code="cs-complaint").order_by("pk").first()
    if case is None or Interaction.objects.filter(case=case, direction="outbound").exists():
        return
    _interaction(
        jana,
        case.pk,
        "email",
        "outbound",
        _ago(3, 14),
        "Ihre Abrechnung Q3",
        "Sehr geehrte Frau Dr. Wolff, wir prüfen die fehlenden Aufführungen mit dem "
        "Konzerthaus. Bitte laden Sie das Programmheft im Kundenportal hoch, falls Sie es "
        "zur Hand haben.",
        agent=DEMO_ACTOR,
        sender="mitglieder@demo.casework.test",
    )


def _propose_to_lisa() -> None:
    lisa = Customer.objects.get(customer_number=LISA)
    case = Case.objects.filter(customer=lisa, subject__startswith="Chat:").order_by("pk").first()
    # Accepted already, or not eligible any more on the day the demo runs: nothing to do.
    with contextlib.suppress(DomainError):
        propose_offer(
            lisa, "international-option", channel="chat", actor=_agent_actor("anna"), case=case
        )


def portal_sign_in_link(customer_number: str = LISA) -> str:
    """A fresh sign-in link for a demo customer, valid like any other (once, for
    CASEWORK_PORTAL_LINK_MINUTES); the same link is mailed to the demo's outbox. Only in
    the demo: a production installation never prints sign-in links."""
    if getattr(settings, "CASEWORK_MODE", "") == "production":
        raise RuntimeError("sign-in links are printed only in the demo")
    customer = Customer.objects.get(customer_number=customer_number)
    address = signin.email_of(customer)
    return signin.issue_link(
        customer,
        to_address=address or "",
        client=signin.Client("demo"),
        language=customer.language[:2],
        mailbox=sender_mailbox() if address else None,
    )
