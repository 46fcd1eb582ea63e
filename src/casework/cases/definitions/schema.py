"""The shape of a case type file (JSON Schema 2020-12), and the names conditions may use.

The schema checks structure; `loading.py` checks meaning (references, reachability,
expressions, decision tables). Steps are validated in two passes so that an unknown kind
gets its own message listing the known ones, instead of a wall of schema alternatives.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

KEY_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
FIELD_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"
PRIORITIES = ("low", "normal", "high", "urgent")
SERVICE_TYPES = ("advice", "support", "complaint")
CHANNELS = ("email", "phone", "chat", "portal", "letter", "partner", "api")
BREACH_ACTIONS = ("raise_priority", "escalate", "notify_supervisor")
# Events a case type may attach a customer notification to (codes of the event log).
NOTIFICATION_EVENTS = (
    "case.opened",
    "case.stage_entered",
    "case.waiting_for_customer",
    "case.escalated",
    "case.resolved",
    "case.closed",
    "case.reopened",
    "sla.warning",
    "sla.breached",
)

# What the engine puts into the data every condition is evaluated over, besides `data.*`
# (the case's own data, declared per case type). Path → meaning; the engine builds exactly
# this shape, and conditions may name nothing else.
CONTEXT_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "case.reference": "the case reference, e.g. CW-2026-000123",
        "case.priority": 'one of "low", "normal", "high", "urgent"',
        "case.service_type": 'one of "advice", "support", "complaint"',
        "case.channel": "the channel the case was opened on, e.g. email",
        "case.tier": "the escalation tier: 1, 2 or 3",
        "case.stage": "the key of the current stage",
        "case.status": 'one of "new", "open", "pending", "resolved", "closed"',
        "case.opened_at": "when the case was opened (datetime)",
        "customer.number": "the customer number",
        "customer.kind": 'one of "person", "organisation"',
        "customer.language": 'the preferred language, "de" or "en"',
        "customer.segment": "the customer segment, e.g. gold",
        "customer.interests": "list of interest codes",
        "customer.federal_state": "the federal state of the address, e.g. BY",
        "customer.is_known": "whether the customer was identified (boolean)",
        "contract.number": "the contract the case is about",
        "contract.product": "the product code",
        "contract.tariff": "the tariff code",
        "contract.options": "list of booked option codes",
        "contract.status": "the contract status",
        "contract.starts_on": "start date",
        "contract.ends_on": "end date (null when open-ended)",
        "contract.ends_in_days": "days until the contract ends (number; null when open-ended)",
        "contract.tenure_months": "months since the contract started (number)",
        "contract.monthly_fee": "the monthly fee in EUR (number)",
        "connected": "the hosts named in case types that this installation connects to "
        '(CASEWORK_INTEGRATION_ENDPOINTS), e.g. "billing.example.invalid" in connected',
        "now": "the current time (datetime)",
        "today": "the current date in Europe/Berlin",
    }
)

_TEXT = {"type": "string", "minLength": 1}
BILINGUAL = {
    "type": "object",
    "additionalProperties": False,
    "required": ["de", "en"],
    "properties": {"de": _TEXT, "en": _TEXT},
}
_KEY = {"type": "string", "pattern": KEY_PATTERN}
_FIELD = {"type": "string", "pattern": FIELD_PATTERN}
_EXPRESSION = {"type": "string", "minLength": 1}
_SKILLS = {"type": "array", "items": _KEY, "uniqueItems": True}
_HOURS = {"type": "number", "exclusiveMinimum": 0}
_PER_PRIORITY = {
    "type": "object",
    "additionalProperties": False,
    "required": list(PRIORITIES),
    "properties": dict.fromkeys(PRIORITIES, _HOURS),
}
_EXPRESSIONS_BY_FIELD = {
    "type": "object",
    "propertyNames": {"pattern": FIELD_PATTERN},
    "additionalProperties": _EXPRESSION,
}

STEP_COMMON: Mapping[str, Any] = {
    "key": _KEY,
    "kind": {"type": "string"},
    "name": BILINGUAL,
    "description": {"type": "string"},
    "when": _EXPRESSION,
}

# Per kind: its own properties and which of them are required.
STEP_KINDS: Mapping[str, tuple[Mapping[str, Any], tuple[str, ...]]] = {
    "collect_data": (
        {
            "for": {"enum": ["agent", "customer"]},
            "fields": {"type": "array", "minItems": 1, "items": _FIELD, "uniqueItems": True},
            "required": {"type": "array", "items": _FIELD, "uniqueItems": True},
        },
        ("for", "fields"),
    ),
    "decision": (
        {
            "table": _TEXT,
            "output_mapping": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": _FIELD,
            },
            "on_no_match": {"enum": ["exception"]},
        },
        ("table", "output_mapping"),
    ),
    "set_data": ({"values": {**_EXPRESSIONS_BY_FIELD, "minProperties": 1}}, ("values",)),
    "task": (
        {
            "title": BILINGUAL,
            "queue": _KEY,
            "skills": _SKILLS,
            "due_business_hours": _HOURS,
        },
        ("title",),
    ),
    "approval": (
        {
            "title": BILINGUAL,
            "queue": _KEY,
            "skills": _SKILLS,
            "four_eyes": {"type": "boolean"},
            "due_business_hours": _HOURS,
        },
        ("title",),
    ),
    "notify": (
        {
            "template": _KEY,
            "to": {"enum": ["customer", "owner", "supervisor", "queue"]},
        },
        ("template",),
    ),
    "wait": (
        {
            "for": {"enum": ["customer_reply", "until", "subcases"]},
            "until": _EXPRESSION,
            "subcases": {"type": "array", "items": _KEY, "uniqueItems": True},
            "timeout_business_hours": _HOURS,
        },
        ("for",),
    ),
    "subcase": (
        {
            "case_type": _KEY,
            "version": {"type": "integer", "minimum": 1},
            "department": _KEY,
            "data_mapping": _EXPRESSIONS_BY_FIELD,
        },
        ("case_type",),
    ),
    "integration": (
        {
            "url": {"type": "string", "pattern": r"^https?://[^\s]+$"},
            "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
            "retries": {"type": "integer", "minimum": 0, "maximum": 10},
            "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 120},
            "payload": _EXPRESSIONS_BY_FIELD,
            "result_mapping": {"type": "object", "additionalProperties": _FIELD},
            "on_failure": {"enum": ["exception"]},
        },
        ("url", "method"),
    ),
    "action": (
        {
            "action": {"type": "string", "pattern": r"^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)+$"},
            "on_failure": {"enum": ["exception"]},
        },
        ("action",),
    ),
}


def step_schema(kind: str) -> Mapping[str, Any]:
    """The full schema of a step of `kind` (a key of STEP_KINDS)."""
    properties, required = STEP_KINDS[kind]
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["key", "kind", *required],
        "properties": {**STEP_COMMON, **properties},
    }


CASE_TYPE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["key", "version", "name", "service_type", "data", "stages"],
    "properties": {
        "key": _KEY,
        "version": {"type": "integer", "minimum": 1},
        "name": BILINGUAL,
        "description": BILINGUAL,
        "department": _KEY,
        "service_type": {
            "oneOf": [
                {"enum": list(SERVICE_TYPES)},
                {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"enum": list(SERVICE_TYPES)},
                },
            ]
        },
        "channels": {
            "type": "array",
            "uniqueItems": True,
            "items": {"enum": list(CHANNELS)},
        },
        "data": {"type": "object"},
        "initial_stage": _KEY,
        "stages": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["key", "name"],
                "properties": {
                    "key": _KEY,
                    "name": BILINGUAL,
                    "alternate": {"type": "boolean"},
                    "final": {"type": "boolean"},
                    "steps": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["key", "kind"],
                            "properties": {"key": _KEY, "kind": {"type": "string"}},
                        },
                    },
                    "transitions": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["to"],
                            "properties": {
                                "to": _KEY,
                                "when": _EXPRESSION,
                                "action": _KEY,
                                "name": BILINGUAL,
                            },
                        },
                    },
                },
            },
        },
        "sla": {
            "type": "object",
            "additionalProperties": False,
            "required": ["first_response_business_hours", "resolution_business_hours"],
            "properties": {
                "first_response_business_hours": _PER_PRIORITY,
                "resolution_business_hours": _PER_PRIORITY,
                "warning_at_percent": {
                    "type": "array",
                    "uniqueItems": True,
                    "items": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 100},
                },
                "on_warning": {
                    "type": "array",
                    "uniqueItems": True,
                    "items": {"enum": list(BREACH_ACTIONS)},
                },
                "on_breach": {
                    "type": "array",
                    "uniqueItems": True,
                    "items": {"enum": list(BREACH_ACTIONS)},
                },
            },
        },
        "routing": {
            "type": "object",
            "additionalProperties": False,
            "required": ["queue"],
            "properties": {
                "queue": _KEY,
                "skills": _SKILLS,
                "escalation": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["queue"],
                    "properties": {"queue": _KEY, "skills": _SKILLS},
                },
            },
        },
        "notifications": {
            "type": "object",
            "propertyNames": {"enum": list(NOTIFICATION_EVENTS)},
            "additionalProperties": _KEY,
        },
    },
}
