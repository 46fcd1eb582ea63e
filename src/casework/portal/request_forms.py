"""Requests customers start in the portal: a case type's data fields as a form, checked
on the server against the case type's JSON Schema, opening a case whose data are those
fields (structured, not free text).

Which case types the portal offers is configuration (`PortalForm` rows, edited in the
administration): the case type's published definition must accept the channel `portal`,
and the form lists the data fields the customer fills — never the ones the organisation
fills (decisions, answers).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError
from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator

from casework.cases.definitions.specs import CaseTypeDefinition
from casework.cases.models import Case
from casework.cases.process import published_definition
from casework.cases.services import NewCase, get_case_type, open_case
from casework.customers.models import Channel, Customer
from casework.events.services import recording_transaction
from casework.interactions.models import Direction
from casework.interactions.services import (
    NewInteraction,
    find_by_external_id,
    record_interaction,
)
from casework.kernel import clock
from casework.kernel.actors import Actor
from casework.kernel.errors import InvalidInput, NotFound
from casework.portal.models import PortalForm

SCALAR_TYPES = ("string", "integer", "number", "boolean")
_TEXTAREA_FROM = 300
_SUBMISSION_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class FieldSpec:
    """One field of a portal form, as the page shows it."""

    name: str
    label: str
    kind: str  # text, textarea, choice, integer, number, boolean
    is_required: bool
    choices: tuple[Choice, ...] = ()
    max_length: int | None = None
    pattern: str | None = None
    hint: str = ""


@dataclass(frozen=True)
class OfferedForm:
    form: PortalForm
    definition: CaseTypeDefinition
    title: str
    intro: str


class FormInvalid(InvalidInput):
    """The submitted data do not fit: `errors` maps each field (or "" for the form) to its
    messages, in the customer's language."""

    code = "portal_form_invalid"

    def __init__(self, errors: Mapping[str, Sequence[str]]) -> None:
        super().__init__(_("Please check the marked fields."))
        self.errors = {name: list(messages) for name, messages in errors.items()}


def _definition_for(form: PortalForm) -> CaseTypeDefinition | None:
    definition = published_definition(form.case_type)
    if definition is None or Channel.PORTAL not in definition.channels:
        return None
    return definition


def list_offered_forms(language: str) -> list[OfferedForm]:
    """The forms the portal offers now: active, of a published case type that accepts the
    channel `portal`."""
    offered = []
    for form in PortalForm.objects.filter(is_active=True):
        definition = _definition_for(form)
        if definition is not None and not portal_form_problems(form, definition):
            offered.append(
                OfferedForm(form, definition, form.title(language), form.intro(language))
            )
    return offered


def get_offered_form(code: str, language: str) -> OfferedForm:
    for offered in list_offered_forms(language):
        if offered.form.code == code:
            return offered
    raise NotFound(_("There is no such form."))


def portal_form_problems(form: PortalForm, definition: CaseTypeDefinition | None) -> list[str]:
    """What is wrong with a form's configuration (shown in the administration)."""
    if definition is None or Channel.PORTAL not in definition.channels:
        return [
            _("The case type %(code)s is not published or does not accept the channel portal.")
            % {"code": form.case_type}
        ]
    properties = definition.data_schema.get("properties", {})
    problems = []
    if not isinstance(form.fields, list) or not form.fields:
        return [_("A portal form needs at least one field.")]
    for name in form.fields:
        schema = properties.get(name) if isinstance(name, str) else None
        if schema is None:
            problems.append(_("%(field)s is not a data field of the case type.") % {"field": name})
        elif schema.get("type") not in SCALAR_TYPES:
            problems.append(_("%(field)s is not a text, number or yes/no field.") % {"field": name})
    for name in form.required or []:
        if name not in form.fields:
            problems.append(
                _("Required field %(field)s is not among the fields.") % {"field": name}
            )
    return problems


def field_specs(offered: OfferedForm, language: str) -> list[FieldSpec]:
    form, properties = offered.form, offered.definition.data_schema.get("properties", {})
    required = set(form.required or []) | (
        set(offered.definition.data_schema.get("required", [])) - set(form.preset or {})
    )
    specs = []
    for name in form.fields:
        schema = properties[name]
        labels = (form.labels or {}).get(name, {})
        label = (
            labels.get(language[:2]) or schema.get("title") or name.replace("_", " ").capitalize()
        )
        hint = (
            (labels.get("hint") or {}).get(language[:2], "")
            if isinstance(labels.get("hint"), dict)
            else ""
        )
        kind = schema.get("type")
        choices: tuple[Choice, ...] = ()
        if "enum" in schema:
            kind = "choice"
            choice_labels = labels.get("choices", {})
            choices = tuple(
                Choice(
                    str(value), (choice_labels.get(str(value)) or {}).get(language[:2], str(value))
                )
                for value in schema["enum"]
            )
        elif kind == "string":
            kind = "textarea" if (schema.get("maxLength") or 0) > _TEXTAREA_FROM else "text"
        specs.append(
            FieldSpec(
                name=name,
                label=label,
                kind=kind,
                is_required=name in required,
                choices=choices,
                max_length=schema.get("maxLength"),
                pattern=schema.get("pattern"),
                hint=hint,
            )
        )
    return specs


@dataclass
class ParsedForm:
    data: dict[str, Any]
    errors: dict[str, list[str]] = field(default_factory=dict)


def parse_submission(offered: OfferedForm, raw: Mapping[str, str], language: str) -> ParsedForm:
    """The submitted text as typed JSON data, checked against the case type's schema."""
    specs = field_specs(offered, language)
    parsed = ParsedForm(data=dict(offered.form.preset or {}))
    for spec in specs:
        value = (raw.get(spec.name) or "").strip()
        if spec.kind == "boolean":
            parsed.data[spec.name] = value in ("on", "true", "1", "yes")
            continue
        if not value:
            if spec.is_required:
                parsed.errors.setdefault(spec.name, []).append(_("Please fill in this field."))
            continue
        if spec.kind == "integer":
            if not re.fullmatch(r"-?[0-9]+", value):
                parsed.errors.setdefault(spec.name, []).append(_("Please enter a whole number."))
                continue
            parsed.data[spec.name] = int(value)
        elif spec.kind == "number":
            try:
                number = Decimal(value.replace(",", "."))
            except InvalidOperation:
                parsed.errors.setdefault(spec.name, []).append(_("Please enter a number."))
                continue
            parsed.data[spec.name] = (
                int(number) if number == number.to_integral_value() else float(number)
            )
        else:
            parsed.data[spec.name] = value
    shown = {spec.name: spec for spec in specs}
    validator = Draft202012Validator(dict(offered.definition.data_schema))
    for error in validator.iter_errors(parsed.data):
        path = list(error.absolute_path)
        name = str(path[0]) if path else ""
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            name = missing if missing in shown else ""
        if name in parsed.errors:
            continue  # one message per field: the parser's says it already
        parsed.errors.setdefault(name if name in shown else "", []).append(
            _schema_message(error.validator, error.validator_value, shown.get(name))
        )
    return parsed


def _schema_message(keyword: str, expected: Any, spec: FieldSpec | None) -> str:
    if keyword == "required":
        return _("Please fill in this field.")
    if keyword == "maxLength":
        return _("Please use at most %(count)d characters.") % {"count": expected}
    if keyword == "minLength":
        return _("Please use at least %(count)d characters.") % {"count": expected}
    if keyword == "pattern":
        if spec is not None and spec.hint:
            return _("Please check the format: %(hint)s") % {"hint": spec.hint}
        return _("Please check the format of this entry.")
    if keyword == "enum":
        return _("Please choose one of the options.")
    if keyword in ("minimum", "exclusiveMinimum"):
        return _("The value is too small (at least %(value)s).") % {"value": expected}
    if keyword in ("maximum", "exclusiveMaximum"):
        return _("The value is too large (at most %(value)s).") % {"value": expected}
    if keyword == "type":
        return _("Please enter a value of the right kind.")
    return _("This entry is not valid.")


def submit_request(
    customer: Customer,
    offered: OfferedForm,
    raw: Mapping[str, str],
    *,
    submission_id: str,
    language: str,
) -> Case:
    """Open a case of the form's case type for the customer, with the fields as its data,
    and record the submission as an inbound portal contact. The same form sent twice (a
    double click) opens one case."""
    if not _SUBMISSION_ID.fullmatch(submission_id):
        raise InvalidInput(_("The form has expired. Please send it again."), field="")
    parsed = parse_submission(offered, raw, language)
    if parsed.errors:
        raise FormInvalid(parsed.errors)
    external_id = f"portal:form:{customer.pk}:{submission_id}"
    earlier = _earlier_case(external_id)
    if earlier is not None:
        return earlier
    actor = Actor.customer(customer.pk)
    title = offered.form.title(language)
    specs = field_specs(offered, language)
    try:
        with recording_transaction():
            case = open_case(
                NewCase(
                    case_type=get_case_type(offered.form.case_type),
                    subject=_subject(title, specs, parsed.data),
                    customer_id=customer.pk,
                    service_type=offered.form.service_type or None,
                    data=parsed.data,
                ),
                actor=actor,
            )
            record_interaction(
                NewInteraction(
                    channel=Channel.PORTAL,
                    direction=Direction.INBOUND,
                    occurred_at=clock.now(),
                    customer_id=customer.pk,
                    case_id=case.pk,
                    sender=customer.display_name,
                    subject=title,
                    text=_summary(specs, parsed.data),
                    payload={"portal_form": offered.form.code, "fields": parsed.data},
                    external_id=external_id,
                ),
                actor=actor,
            )
    except IntegrityError:
        earlier = _earlier_case(external_id)  # the same form, sent at the same moment
        if earlier is None:
            raise
        return earlier
    return case


def _earlier_case(external_id: str) -> Case | None:
    existing = find_by_external_id(Channel.PORTAL, external_id)
    return existing.case if existing is not None and existing.case_id else None


def _subject(title: str, specs: Sequence[FieldSpec], data: Mapping[str, Any]) -> str:
    for spec in specs:
        value = data.get(spec.name)
        # Numbers and codes (fields with a pattern) say less than a title does.
        if spec.kind == "text" and not spec.pattern and isinstance(value, str) and value:
            return f"{title}: {value}"[:300]
    return title


def display_value(spec: FieldSpec, value: Any) -> str:
    if spec.kind == "boolean":
        return _("yes") if value else _("no")
    for choice in spec.choices:
        if choice.value == str(value):
            return choice.label
    return str(value)


def _summary(specs: Sequence[FieldSpec], data: Mapping[str, Any]) -> str:
    return "\n".join(
        f"{spec.label}: {display_value(spec, data[spec.name])}"
        for spec in specs
        if spec.name in data
    )
