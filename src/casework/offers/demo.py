"""The demo's offer catalogue and a history of decisions for the propensity model to learn
from. The demo loader calls `ensure_demo_offers()`, then `seed_demo_decisions()`, then
`services.train_propensity_model()`.

Both are idempotent: offers are found by code (an offer that exists is left as it is, so
changes made in the admin survive a second `casework demo`), and the decision history is
written once. The history is synthetic and deterministic (a fixed seed): each decision's
situation is the customer's facts with a contract end and data volume drawn as they might
have been then, and its outcome is drawn from plausible acceptance rates, so the trained
model has patterns to find ("people who use no data take the voice-only tariff").
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from casework.customers.models import Customer
from casework.kernel import clock
from casework.offers.facts import facts_for
from casework.offers.models import DecisionOutcome, Offer, OfferDecision, OfferReason

DEMO_LABEL = "system:demo"

_ENDS_SOON = (
    "contract.ends_in_days <= 90",
    "Vertrag endet in {contract.ends_in_days} Tagen",
    "contract ends in {contract.ends_in_days} days",
)
_LOYAL = (
    "contract.tenure_months >= 24",
    "seit {contract.tenure_months} Monaten Kunde",
    "customer for {contract.tenure_months} months",
)

# code, kind, (German, English name), (German, English description), fields, reasons.
OFFERS: list[tuple[str, str, tuple[str, str], tuple[str, str], dict[str, Any], list[tuple]]] = [
    (
        "discount-20",
        "offer",
        ("20 % Treuerabatt", "20 % loyalty discount"),
        (
            "20 % weniger Grundgebühr bei 24 Monaten Verlängerung.",
            "20 % off the monthly fee for a 24-month extension.",
        ),
        {
            "eligibility": 'customer.segment == "gold" and contract.ends_in_days >= 0 '
            "and contract.ends_in_days <= 90 and contract.tenure_months >= 24",
            "value": Decimal("240"),
            "discount_percent": Decimal("20"),
            "extend_months": 24,
        },
        [_ENDS_SOON, _LOYAL, ('customer.segment == "gold"', "Gold-Kunde", "gold customer")],
    ),
    (
        "discount-10",
        "offer",
        ("10 % Rabatt", "10 % discount"),
        (
            "10 % weniger Grundgebühr bei 12 Monaten Verlängerung.",
            "10 % off the monthly fee for a 12-month extension.",
        ),
        {
            "eligibility": 'customer.segment == "gold" and contract.ends_in_days >= 0 '
            "and contract.ends_in_days <= 90 and contract.tenure_months < 24",
            "value": Decimal("150"),
            "discount_percent": Decimal("10"),
            "extend_months": 12,
        },
        [_ENDS_SOON, ('customer.segment == "gold"', "Gold-Kunde", "gold customer")],
    ),
    (
        "free-option",
        "offer",
        ("Option EU+ gratis", "EU+ option free of charge"),
        (
            "Die Option Ausland EU+ ohne Aufpreis bei 12 Monaten Verlängerung.",
            "The EU+ abroad option at no extra charge for a 12-month extension.",
        ),
        {
            "eligibility": 'customer.segment == "silver" and contract.ends_in_days >= 0 '
            'and contract.ends_in_days <= 90 and "intl-eu" not in contract.options',
            "value": Decimal("120"),
            "add_option": "intl-eu",
            "extend_months": 12,
        },
        [_ENDS_SOON, ('customer.segment == "silver"', "Silber-Kunde", "silver customer")],
    ),
    (
        "international-option",
        "offer",
        ("Option Welt", "World option"),
        (
            "Telefonieren und surfen im Ausland (inkl. Japan), bei 12 Monaten Verlängerung.",
            "Calls and data abroad (Japan included) with a 12-month extension.",
        ),
        {
            "eligibility": "contract.ends_in_days >= 0 and contract.ends_in_days <= 90 "
            'and "international-tariffs" in customer.interests '
            'and "intl-welt" not in contract.options',
            "value": Decimal("180"),
            "add_option": "intl-welt",
            "extend_months": 12,
            "interest_tag": "international-tariffs",
        },
        [
            _ENDS_SOON,
            (
                '"international-tariffs" in customer.interests',
                "interessiert sich für Auslandstarife",
                "interested in international tariffs",
            ),
        ],
    ),
    (
        "voice-only",
        "offer",
        ("Tarif Sprache Basis", "Voice basic tariff"),
        (
            "Wechsel in den Tarif ohne Datenvolumen, bei 12 Monaten Verlängerung.",
            "A move to the tariff without data volume, with a 12-month extension.",
        ),
        {
            "eligibility": 'contract.data_usage_gb <= 0.5 and contract.product != "sprache-basis"',
            "value": Decimal("90"),
            "switch_to": "sprache-basis",
            "extend_months": 12,
        },
        [
            _ENDS_SOON,
            ("contract.data_usage_gb == 0", "nutzt kein Datenvolumen", "uses no data volume"),
            (
                "contract.data_usage_gb > 0",
                "nutzt kaum Datenvolumen ({contract.data_usage_gb} GB im Monat)",
                "uses hardly any data ({contract.data_usage_gb} GB a month)",
            ),
        ],
    ),
    (
        "goodwill-10-percent",
        "action",
        ("Diesem Kunden jetzt 10 % gewähren", "Grant this customer 10 % now"),
        (
            "Eine einmalige Gutschrift von 10 % der nächsten Rechnung, ohne Gegenleistung.",
            "A one-off credit of 10 % of the next bill, with nothing asked in return.",
        ),
        {
            "eligibility": "contract.tenure_months >= 12",
            "value": Decimal("60"),
        },
        [
            _LOYAL,
            (
                "contact.days_since_last <= 14",
                "letzter Kontakt vor {contact.days_since_last} Tagen",
                "last contact {contact.days_since_last} days ago",
            ),
        ],
    ),
    (
        "warranty-extension",
        "action",
        ("Garantie um ein Jahr verlängern", "Extend the warranty by a year"),
        (
            "Sie dürfen die Garantie des Geräts um ein Jahr verlängern.",
            "You may extend the device's warranty by a year.",
        ),
        {
            "eligibility": "contract.tenure_months >= 24",
            "value": Decimal("40"),
        },
        [_LOYAL],
    ),
]

# How likely a customer in the drawn situation says yes: the patterns to be learnt.
_ACCEPTANCE = {
    "discount-20": lambda s: 0.35 + (0.25 if s["tenure"] >= 48 else 0.0),
    "discount-10": lambda s: 0.3,
    "free-option": lambda s: 0.25,
    "international-option": lambda s: 0.08 + (0.5 if s["interested"] else 0.0),
    "voice-only": lambda s: 0.05 + (0.6 if s["data"] <= Decimal("0.5") else 0.0),
    "goodwill-10-percent": lambda s: 0.6,
    "warranty-extension": lambda s: 0.2 + (0.3 if s["ends"] <= 30 else 0.0),
}


@transaction.atomic
def ensure_demo_offers() -> list[str]:
    """Create the demo offers that do not exist yet; returns their codes."""
    created = []
    for code, kind, names, descriptions, fields, reasons in OFFERS:
        if Offer.objects.filter(code=code).exists():
            continue
        offer = Offer.objects.create(
            code=code,
            kind=kind,
            name_de=names[0],
            name_en=names[1],
            description_de=descriptions[0],
            description_en=descriptions[1],
            **fields,
        )
        for position, (condition, text_de, text_en) in enumerate(reasons):
            OfferReason.objects.create(
                offer=offer,
                position=position,
                condition=condition,
                text_de=text_de,
                text_en=text_en,
            )
        created.append(code)
    return created


@transaction.atomic
def seed_demo_decisions(
    customers: Sequence[Customer] | None = None,
    *,
    count: int = 1500,
    seed: int = 20_261_126,
    today: date | None = None,
) -> int:
    """Write a history of `count` decisions on the demo offers by `customers` (default: the
    first 2000 customers with a contract), once; returns how many were written."""
    if OfferDecision.objects.filter(decided_by=DEMO_LABEL).exists():
        return 0
    offers = {offer.code: offer for offer in Offer.objects.filter(code__in=_ACCEPTANCE)}
    if customers is None:
        customers = list(
            Customer.objects.filter(contracts__status="active").distinct().order_by("pk")[:2000]
        )
    if not offers or not customers:
        return 0
    today = today or clock.localtime(clock.now()).date()
    facts = facts_for(customers, today)
    rnd = random.Random(seed)
    accepted: set[tuple[int, str]] = set()
    rows = []
    codes = sorted(offers)
    for _ in range(count):
        customer = rnd.choice(customers)
        code = rnd.choice(codes)
        situation = _situation(rnd, facts[customer.pk], offers[code].interest_tag)
        is_accepted = rnd.random() < _ACCEPTANCE[code](situation["drawn"])
        if is_accepted and (customer.pk, code) in accepted:
            continue  # accepted once at most
        if is_accepted:
            accepted.add((customer.pk, code))
        rows.append(
            OfferDecision(
                customer=customer,
                offer=offers[code],
                outcome=DecisionOutcome.ACCEPTED if is_accepted else DecisionOutcome.DECLINED,
                channel=rnd.choice(["phone", "phone", "chat", "email", "letter"]),
                # Older than the decline pause: the history suppresses nothing today.
                decided_at=clock.now() - timedelta(days=rnd.uniform(31, 400)),
                decided_by=DEMO_LABEL,
                facts=situation["facts"],
            )
        )
    OfferDecision.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def _situation(rnd: random.Random, facts: dict[str, Any], interest_tag: str) -> dict[str, Any]:
    """The customer's facts as they might have been at the decision: the contract's end and
    the data volume drawn, an interest in the offer's topic for some."""
    snapshot = json.loads(json.dumps(facts, cls=DjangoJSONEncoder))
    contract = snapshot.setdefault("contract", {})
    customer = snapshot.setdefault("customer", {})
    ends = rnd.randrange(0, 120)
    data = Decimal(rnd.choice(["0", "0", "0.3", "1.5", "4", "12", "25"]))
    contract["ends_in_days"] = ends
    contract["data_usage_gb"] = str(data)
    if interest_tag and rnd.random() < 0.3:
        customer["interests"] = sorted({*customer.get("interests", []), interest_tag})
    interested = bool(interest_tag) and interest_tag in customer.get("interests", [])
    tenure = int(contract.get("tenure_months") or 0)
    return {
        "facts": snapshot,
        "drawn": {"ends": ends, "data": data, "interested": interested, "tenure": tenure},
    }
