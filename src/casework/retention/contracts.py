"""An accepted offer changes the contract: a longer term, a lower fee, an added option."""

from __future__ import annotations

import calendar
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.utils import translation
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _

from casework.customers.models import Contract, Product
from casework.events.services import record
from casework.kernel import clock
from casework.kernel.actors import Actor
from casework.offers.models import Offer

CENT = Decimal("0.01")


def apply_offer(
    contract: Contract, offer: Offer, *, actor: Actor, case_id: int | None, language: str = "de"
) -> str:
    """Change `contract` as `offer` says (in the caller's transaction); returns what changed
    in plain words of `language`, for the case's data and the customer's confirmation."""
    before = {"end_date": contract.end_date, "monthly_fee": contract.monthly_fee}
    changes = []
    with translation.override(language):
        if offer.extend_months:
            start = contract.end_date or clock.localtime(clock.now()).date()
            contract.end_date = _add_months(start, offer.extend_months)
            changes.append(
                _("term until %(date)s") % {"date": date_format(contract.end_date, "DATE_FORMAT")}
            )
        if offer.discount_percent:
            factor = (Decimal(100) - offer.discount_percent) / Decimal(100)
            contract.monthly_fee = (Decimal(contract.monthly_fee) * factor).quantize(
                CENT, rounding=ROUND_HALF_UP
            )
            changes.append(
                _("monthly fee %(new)s EUR instead of %(old)s EUR")
                % {
                    "new": number_format(contract.monthly_fee, 2),
                    "old": number_format(before["monthly_fee"], 2),
                }
            )
        contract.save(update_fields=["end_date", "monthly_fee", "updated_at"])
        if offer.add_option:
            option = Product.objects.filter(code=offer.add_option).first()
            if option is not None and not contract.options.filter(pk=option.pk).exists():
                contract.options.add(option)
                changes.append(_("option “%(option)s” added") % {"option": option.name})
    record(
        "contract.updated",
        actor=actor,
        object_type="contract",
        object_id=contract.pk,
        payload={
            "customer_id": contract.customer_id,
            "case_id": case_id,
            "offer": offer.code,
            "end_date": {"before": _iso(before["end_date"]), "after": _iso(contract.end_date)},
            "monthly_fee": {
                "before": str(before["monthly_fee"]),
                "after": str(contract.monthly_fee),
            },
            "option": offer.add_option or None,
        },
    )
    return "; ".join(changes)


def _add_months(start: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it has fewer days."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return start.replace(
        year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1])
    )


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None
