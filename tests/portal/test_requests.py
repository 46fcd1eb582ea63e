"""Requests from case-type forms: the schema's fields as a customer form, checked on the
server field by field, opening a case with the data as structured fields."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from casework.cases.models import Case
from casework.interactions.models import Interaction
from casework.portal import request_forms
from casework.portal.models import PortalForm
from tests.portal.conftest import sign_in_as

WORK = {
    "code": "work-registration",
    "case_type": "collecting-society-request",
    "title_de": "Werk anmelden",
    "title_en": "Register a work",
    "fields": ["member_number", "work_title", "question"],
    "required": ["member_number", "work_title"],
    "preset": {"topic": "work_registration"},
    "labels": {
        "member_number": {
            "de": "Mitgliedsnummer",
            "en": "Member number",
            "hint": {"de": "6 bis 10 Ziffern", "en": "6 to 10 digits"},
        },
        "work_title": {"de": "Titel des Werks", "en": "Title of the work"},
    },
}
QUESTION = {
    "code": "member-question",
    "case_type": "collecting-society-request",
    "title_de": "Frage",
    "title_en": "Ask member services",
    "fields": ["topic", "question"],
    "required": ["topic", "question"],
    "labels": {
        "topic": {
            "de": "Thema",
            "en": "Topic",
            "choices": {"membership": {"de": "Mitgliedschaft", "en": "Membership"}},
        }
    },
}


@pytest.fixture
def forms(engine):  # noqa: ANN001, ANN201
    return [PortalForm.objects.create(**WORK), PortalForm.objects.create(**QUESTION)]


@pytest.fixture
def member(client, customer, forms):  # noqa: ANN001, ANN201
    return sign_in_as(client, customer)


def submit(client, code: str, **data):  # noqa: ANN001, ANN003, ANN201
    data.setdefault("submission_id", "b" * 32)
    return client.post(reverse("portal:request_form", kwargs={"code": code}), data)


def test_the_portal_offers_configured_forms_of_case_types_open_to_the_portal(member, engine):
    PortalForm.objects.create(
        code="retention-by-hand",
        case_type="licensing-request",  # its channels are [api]: not offered
        title_de="x",
        title_en="Licensing",
        fields=["member_number"],
    )
    PortalForm.objects.create(
        code="switched-off",
        case_type="collecting-society-request",
        title_de="y",
        title_en="Switched off",
        fields=["question"],
        is_active=False,
    )
    text = member.get(reverse("portal:requests")).content.decode()
    assert "Register a work" in text and "Ask member services" in text
    assert "Licensing" not in text and "Switched off" not in text
    response = member.get(reverse("portal:request_form", kwargs={"code": "retention-by-hand"}))
    assert response.status_code == 404


def test_a_form_shows_the_fields_in_the_customers_words(member):
    text = member.get(
        reverse("portal:request_form", kwargs={"code": "member-question"})
    ).content.decode()
    assert "Topic" in text and ">Membership</option>" in text
    assert 'name="question"' in text
    assert 'name="needs_second_level"' not in text and 'name="answer"' not in text


def test_a_submitted_form_opens_a_case_with_structured_data(member, customer):
    response = submit(
        member,
        "work-registration",
        member_number="104233",
        work_title="Nachtstück",
        question="Uraufführung 12.08.",
    )
    assert response.status_code == 302
    case = Case.objects.get(customer=customer, case_type__code="collecting-society-request")
    assert response["Location"] == reverse("portal:case", kwargs={"case_id": case.pk})
    assert case.data["topic"] == "work_registration"
    assert case.data["member_number"] == "104233"
    assert case.data["work_title"] == "Nachtstück"
    assert case.subject == "Register a work: Nachtstück"
    assert case.process_key == "collecting-society-request"
    contact = Interaction.objects.get(case=case)
    assert (contact.channel, contact.direction) == ("portal", "inbound")
    assert contact.payload["fields"]["work_title"] == "Nachtstück"
    assert contact.payload["portal_form"] == "work-registration"
    assert "Title of the work: Nachtstück" in contact.text
    page = member.get(response["Location"]).content.decode()
    assert case.reference in page


def test_the_same_form_sent_twice_opens_one_case(member, customer):
    for _attempt in range(2):
        submit(member, "work-registration", member_number="104233", work_title="Sommerlied")
    assert Case.objects.filter(customer=customer).count() == 1


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"member_number": "12", "work_title": "X"},
            "member_number",
            "Please check the format: 6 to 10 digits",
        ),
        ({"member_number": "", "work_title": "X"}, "member_number", "Please fill in this field."),
        ({"member_number": "104233", "work_title": ""}, "work_title", "Please fill in this field."),
        (
            {"member_number": "104233", "work_title": "x" * 301},
            "work_title",
            "Please use at most 300 characters.",
        ),
    ],
)
def test_invalid_fields_are_named_with_their_messages(member, data, field, message):
    response = submit(member, "work-registration", **data)
    assert response.status_code == 422
    text = response.content.decode()
    assert f'id="e-{field}"' in text and message in text
    assert 'aria-invalid="true"' in text
    assert not Case.objects.exists()


def test_an_unknown_choice_is_refused(member):
    response = submit(member, "member-question", topic="world_domination", question="?")
    assert response.status_code == 422
    assert "Please choose one of the options." in response.content.decode()
    assert not Case.objects.exists()


def test_messages_follow_the_language(forms, customer):
    offered = request_forms.get_offered_form("work-registration", "de")
    parsed = request_forms.parse_submission(
        offered, {"member_number": "12", "work_title": "X"}, "de"
    )
    assert parsed.errors["member_number"] == [
        translation.gettext("Please check the format: %(hint)s") % {"hint": "6 bis 10 Ziffern"}
    ]
    assert [spec.label for spec in request_forms.field_specs(offered, "de")][:2] == [
        "Mitgliedsnummer",
        "Titel des Werks",
    ]


def test_a_stale_form_without_its_id_is_refused(member):
    response = submit(
        member, "work-registration", member_number="104233", work_title="X", submission_id="../x"
    )
    assert response.status_code == 422
    assert not Case.objects.exists()


def test_a_misconfigured_form_is_explained(engine):
    form = PortalForm(
        case_type="collecting-society-request", fields=["nonsense", "answer"], required=["topic"]
    )
    from casework.cases.process import published_definition

    problems = request_forms.portal_form_problems(form, published_definition(form.case_type))
    assert any("nonsense" in problem for problem in problems)
    assert any("topic" in problem for problem in problems)
