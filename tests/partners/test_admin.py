"""The admin: the ledger is read-only; reversals go through the services."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from casework.kernel.actors import Actor
from casework.partners import services
from casework.partners.models import CommissionEntry, ReversalRequest, ReversalStatus
from tests.partners.factories import PartnerFactory

pytestmark = pytest.mark.django_db


def admin_client(username: str) -> Client:
    user = get_user_model().objects.create_superuser(username, f"{username}@example.de", "pw")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def entry() -> CommissionEntry:
    return services.record_commission(
        PartnerFactory(code="funk"), "R-1", "row-1", "12.50", Actor.system("orders")
    )


def test_the_ledger_is_listed_but_cannot_be_added_changed_or_deleted(entry):  # noqa: ANN001
    client = admin_client("anna")
    listing = client.get("/admin/partners/commissionentry/")
    assert listing.status_code == 200 and b"R-1" in listing.content
    assert client.get("/admin/partners/commissionentry/add/").status_code == 403
    detail = client.get(f"/admin/partners/commissionentry/{entry.pk}/change/")
    assert detail.status_code == 200 and b"Save" not in detail.content
    client.post(f"/admin/partners/commissionentry/{entry.pk}/delete/", {"post": "yes"})
    assert CommissionEntry.objects.count() == 1


def test_a_reversal_is_requested_by_one_admin_and_approved_by_another(entry):  # noqa: ANN001
    anna, ben = admin_client("anna"), admin_client("ben")
    response = anna.post(
        "/admin/partners/reversalrequest/add/", {"entry": entry.pk, "reason": "cancelled"}
    )
    assert response.status_code == 302, response.content
    request = ReversalRequest.objects.get()
    assert (request.requested_by, request.status) == ("user:anna", ReversalStatus.PENDING)

    action = {"action": "approve_selected", "_selected_action": [request.pk]}
    anna.post("/admin/partners/reversalrequest/", action)
    assert ReversalRequest.objects.get().status == ReversalStatus.PENDING  # not by herself
    ben.post("/admin/partners/reversalrequest/", action)

    request.refresh_from_db()
    assert request.status == ReversalStatus.APPROVED and request.decided_by == "user:ben"
    assert request.reversal_entry.amount == -entry.amount
    again = anna.post(
        "/admin/partners/reversalrequest/add/", {"entry": entry.pk, "reason": "twice"}
    )
    assert again.status_code == 200 and b"already reversed" in again.content
    assert ReversalRequest.objects.count() == 1
