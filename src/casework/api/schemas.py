"""Request and response shapes of the REST API (they are the OpenAPI schema)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from django.utils import timezone
from ninja import Field, Schema
from pydantic import ConfigDict

from casework.customers.iban import mask_iban
from casework.intake.messages import InboundMessage, SenderIdentifier

ChannelName = Literal["phone", "email", "chat", "portal", "letter", "partner", "sms", "api"]
IdentifierKindName = Literal["email", "phone", "customer_number", "portal_account"]
ServiceTypeName = Literal["advice", "support", "complaint"]


class ErrorItem(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    code: str
    detail: str
    errors: list[ErrorItem] = []


class IdentifierIn(Schema):
    kind: IdentifierKindName
    value: str = Field(..., min_length=1, max_length=320)


class IdentifierOut(Schema):
    kind: str
    value: str
    raw_value: str


class CustomerIn(Schema):
    kind: Literal["person", "organisation"] = "person"
    customer_number: str = Field("", max_length=40)
    salutation: str = Field("", max_length=40)
    first_name: str = Field("", max_length=100)
    last_name: str = Field("", max_length=100)
    organisation_name: str = Field("", max_length=200)
    birth_date: date | None = None
    street: str = Field("", max_length=200)
    postal_code: str = Field("", max_length=20)
    city: str = Field("", max_length=100)
    country: str = Field("DE", min_length=2, max_length=2)
    language: Literal["de", "en"] = "de"
    preferred_channel: ChannelName | Literal[""] = ""
    segment: str = Field(
        "",
        max_length=40,
        pattern=r"^[-a-z0-9_]*$",
        description="A code the organisation groups customers by (KPIs by segment).",
    )
    identifiers: list[IdentifierIn] = Field(default_factory=list, max_length=50)


class CustomerPatch(Schema):
    kind: Literal["person", "organisation"] | None = None
    salutation: str | None = Field(None, max_length=40)
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    organisation_name: str | None = Field(None, max_length=200)
    birth_date: date | None = None
    street: str | None = Field(None, max_length=200)
    postal_code: str | None = Field(None, max_length=20)
    city: str | None = Field(None, max_length=100)
    country: str | None = Field(None, min_length=2, max_length=2)
    language: Literal["de", "en"] | None = None
    preferred_channel: ChannelName | Literal[""] | None = None


class CustomerOut(Schema):
    id: int
    kind: str
    customer_number: str
    display_name: str
    salutation: str
    first_name: str
    last_name: str
    organisation_name: str
    birth_date: date | None
    street: str
    postal_code: str
    city: str
    country: str
    language: str
    preferred_channel: str
    segment: str
    merged_into_id: int | None
    identifiers: list[IdentifierOut]

    @staticmethod
    def resolve_identifiers(obj: Any) -> list[Any]:
        return list(obj.identifiers.all())


class CustomerSummaryOut(Schema):
    id: int
    customer_number: str
    display_name: str
    city: str
    birth_date: date | None


class ContractIn(Schema):
    product: str = Field(..., min_length=1, max_length=50)
    start_date: date
    contract_number: str = Field("", max_length=40)
    end_date: date | None = None
    status: Literal["ordered", "active", "cancelled", "ended"] = "active"
    monthly_fee: Decimal | None = Field(None, ge=0, max_digits=8, decimal_places=2)
    options: list[str] = Field(default_factory=list, max_length=20)


class ContractOut(Schema):
    id: int
    contract_number: str
    product: str
    product_name: str
    status: str
    start_date: date
    end_date: date | None
    monthly_fee: Decimal
    options: list[str]

    @staticmethod
    def resolve_product(obj: Any) -> str:
        return obj.product.code

    @staticmethod
    def resolve_product_name(obj: Any) -> str:
        return obj.product.name

    @staticmethod
    def resolve_options(obj: Any) -> list[str]:
        return [option.code for option in obj.options.all()]


class PaymentMethodIn(Schema):
    kind: Literal["bank_transfer", "standing_order", "direct_debit", "card", "paypal"]
    is_default: bool = True
    account_holder: str = Field("", max_length=200)
    iban: str = Field("", max_length=42)
    bic: str = Field("", max_length=11)
    mandate_reference: str = Field("", max_length=35)
    card_brand: str = Field("", max_length=20)
    card_last4: str = Field("", max_length=4)
    card_expiry: str = Field("", max_length=7)
    paypal_email: str = Field("", max_length=320)


class PaymentMethodOut(Schema):
    id: int
    kind: str
    is_default: bool
    account_holder: str
    iban_masked: str
    bic: str
    card_brand: str
    card_last4: str
    paypal_email: str

    @staticmethod
    def resolve_iban_masked(obj: Any) -> str:
        return mask_iban(obj.iban) if obj.iban else ""


class ConsentOut(Schema):
    purpose: str
    is_granted: bool
    source: str
    recorded_at: datetime


class InterestOut(Schema):
    tag: str
    source: str
    recorded_at: datetime


class CaseOut(Schema):
    id: int
    reference: str
    case_type: str
    service_type: str
    status: str
    priority: int
    tier: int
    subject: str
    customer_id: int | None
    queue: str
    owner_id: int | None
    parent_id: int | None
    data: dict[str, Any]
    resolution_code: str | None
    resolution_note: str
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    last_activity_at: datetime

    @staticmethod
    def resolve_case_type(obj: Any) -> str:
        return obj.case_type.code

    @staticmethod
    def resolve_queue(obj: Any) -> str:
        return obj.queue.code

    @staticmethod
    def resolve_resolution_code(obj: Any) -> str | None:
        return obj.resolution_code.code if obj.resolution_code_id else None


class CaseIn(Schema):
    case_type: str = Field(..., min_length=1, max_length=50)
    subject: str = Field(..., min_length=1, max_length=300)
    customer_id: int | None = None
    priority: int | None = Field(None, ge=1, le=4)
    service_type: ServiceTypeName | None = None
    queue: str | None = None
    parent_id: int | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class CasePatch(Schema):
    status: Literal["new", "open", "pending"] | None = None
    priority: int | None = Field(None, ge=1, le=4)
    queue: str | None = None
    service_type: ServiceTypeName | None = None
    subject: str | None = Field(None, min_length=1, max_length=300)
    # null hands the case back to its queue; omit the field to leave the owner unchanged.
    owner_id: int | None = None


class NoteIn(Schema):
    text: str = Field(..., min_length=1, max_length=20000)


class ResolveIn(Schema):
    resolution_code: str = Field(..., min_length=1, max_length=50)
    note: str = Field("", max_length=20000)


class InteractionOut(Schema):
    id: int
    channel: str
    direction: str
    occurred_at: datetime
    customer_id: int | None
    case_id: int | None
    case_reference: str | None
    agent_id: int | None
    sender: str
    subject: str
    text: str
    payload: dict[str, Any]
    external_id: str | None

    @staticmethod
    def resolve_case_reference(obj: Any) -> str | None:
        return obj.case.reference if obj.case_id else None


class TimelineOut(Schema):
    page: int
    has_next: bool
    entries: list[InteractionOut]


class Customer360Out(Schema):
    customer: CustomerOut
    contracts: list[ContractOut]
    payment_methods: list[PaymentMethodOut]
    consents: list[ConsentOut]
    interests: list[InterestOut]
    open_cases: list[CaseOut]
    hidden_open_cases: int
    timeline: TimelineOut


class SenderIn(Schema):
    kind: IdentifierKindName
    value: str = Field(..., min_length=1, max_length=320)


class InboundIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "channel": "email",
                    "external_id": "<4711.0815@mail.example.de>",
                    "received_at": "2026-11-26T09:30:00+01:00",
                    "sender": [{"kind": "email", "value": "Helmut.Berger@example.de"}],
                    "sender_name": "Helmut Berger",
                    "subject": "Rechnung Oktober",
                    "text": "Guten Tag, die Rechnung ist zu hoch.",
                    "payload": {"to": "service@example-telco.de"},
                }
            ]
        }
    )

    channel: ChannelName
    external_id: str = Field(..., min_length=1, max_length=400)
    received_at: datetime | None = None
    sender: list[SenderIn] = Field(default_factory=list, max_length=20)
    sender_name: str = Field("", max_length=200)
    subject: str = Field("", max_length=400)
    text: str = Field("", max_length=1_000_000)
    payload: dict[str, Any] = Field(default_factory=dict)
    customer_id: int | None = None
    case_id: int | None = None
    case_type: str | None = Field(None, max_length=50)

    def message(self) -> InboundMessage:
        return InboundMessage(
            channel=self.channel,
            external_id=self.external_id,
            received_at=self.received_at or timezone.now(),
            sender=tuple(SenderIdentifier(s.kind, s.value) for s in self.sender),
            sender_name=self.sender_name,
            subject=self.subject,
            text=self.text,
            payload=self.payload,
            customer_id=self.customer_id,
            case_id=self.case_id,
            case_type=self.case_type,
        )


class InboundOut(Schema):
    case: CaseOut
    interaction_id: int
    is_new_case: bool
    is_duplicate: bool
    customer_match: str


QueuedStatusName = Literal["queued", "ingested", "failed"]


class InboundQueuedOut(Schema):
    """The answer to `Prefer: respond-async`: the message is stored and will be ingested."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"id": 81723, "status": "queued", "status_url": "/api/v1/inbound/81723"}]
        }
    )

    id: int
    status: QueuedStatusName
    status_url: str


class InboundStatusOut(Schema):
    """A queued message: waiting, ingested (with its case and interaction), or failed (with
    the reason, shaped like an error answer)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 81723,
                    "status": "ingested",
                    "status_url": "/api/v1/inbound/81723",
                    "channel": "email",
                    "external_id": "<4711.0815@mail.example.de>",
                    "received_at": "2026-11-26T09:30:00+01:00",
                    "accepted_at": "2026-11-26T09:30:00.120000+01:00",
                    "processed_at": "2026-11-26T09:30:00.480000+01:00",
                    "attempts": 1,
                    "case_id": 5120,
                    "case_reference": "CW-2026-005120",
                    "interaction_id": 90211,
                    "is_duplicate": False,
                    "error": None,
                },
                {
                    "id": 81724,
                    "status": "failed",
                    "status_url": "/api/v1/inbound/81724",
                    "channel": "email",
                    "external_id": "<4712.0815@mail.example.de>",
                    "received_at": "2026-11-26T09:31:00+01:00",
                    "accepted_at": "2026-11-26T09:31:00.100000+01:00",
                    "processed_at": "2026-11-26T09:31:00.400000+01:00",
                    "attempts": 1,
                    "case_id": None,
                    "case_reference": None,
                    "interaction_id": None,
                    "is_duplicate": False,
                    "error": {
                        "code": "invalid_input",
                        "detail": "case 5120 belongs to another customer",
                        "errors": [
                            {"field": "case_id", "message": "case 5120 belongs to another customer"}
                        ],
                    },
                },
            ]
        }
    )

    id: int
    status: QueuedStatusName
    status_url: str
    channel: str
    external_id: str
    received_at: datetime
    accepted_at: datetime
    processed_at: datetime | None
    # Attempts so far; a message whose attempt failed for a moment stays queued.
    attempts: int
    case_id: int | None
    case_reference: str | None
    interaction_id: int | None
    # The message had been ingested before (same channel and external_id): the case and
    # interaction are the first delivery's.
    is_duplicate: bool
    error: ErrorOut | None

    @staticmethod
    def resolve_status_url(obj: Any) -> str:
        return inbound_status_url(obj.pk)

    @staticmethod
    def resolve_case_reference(obj: Any) -> str | None:
        return obj.case_reference or None

    @staticmethod
    def resolve_error(obj: Any) -> dict[str, Any] | None:
        return obj.error or None


def inbound_status_url(entry_id: int) -> str:
    return f"/api/v1/inbound/{entry_id}"


class MergeIn(Schema):
    duplicate_id: int


class MergeOut(Schema):
    id: int
    survivor_id: int
    merged_id: int
    moved: dict[str, list[int]]
    merged_at: datetime
    undone_at: datetime | None


class DuplicateSuspectOut(Schema):
    first: CustomerSummaryOut
    second: CustomerSummaryOut
    reason: str


class TaskOut(Schema):
    id: int
    case_id: int
    case_reference: str
    title: str
    status: str
    priority: int
    queue: str
    assignee_id: int | None
    due_at: datetime | None

    @staticmethod
    def resolve_case_reference(obj: Any) -> str:
        return obj.case.reference

    @staticmethod
    def resolve_queue(obj: Any) -> str:
        return obj.queue.code


class WebhookIn(Schema):
    url: str = Field(..., pattern=r"^https?://", max_length=500)
    secret: str = Field(..., min_length=16, max_length=200)
    event_codes: list[str] = Field(..., min_length=1)
    description: str = Field("", max_length=200)


class WebhookOut(Schema):
    id: int
    url: str
    event_codes: list[str]
    is_active: bool
    description: str


class WebhookDeliveryOut(Schema):
    id: int
    event_seq: int
    event_code: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str
    delivered_at: datetime | None
    next_attempt_at: datetime

    @staticmethod
    def resolve_event_seq(obj: Any) -> int:
        return obj.event.seq

    @staticmethod
    def resolve_event_code(obj: Any) -> str:
        return obj.event.code
