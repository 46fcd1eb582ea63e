"""Writers in parallel keep the ledger gapless and linear, and an order repeated at the same
moment still earns one commission (real database, real threads)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connections

from casework.kernel.actors import Actor
from casework.partners import services
from casework.partners.models import CommissionEntry
from tests.partners.factories import PartnerFactory, supervisor

pytestmark = pytest.mark.django_db(transaction=True)


def _run_in_threads(jobs: list) -> list[BaseException]:  # noqa: ANN001
    errors: list[BaseException] = []
    start = threading.Barrier(len(jobs))

    def run(job) -> None:  # noqa: ANN001
        try:
            start.wait()
            job()
        except BaseException as error:  # noqa: BLE001  (collected and asserted on)
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_parallel_appends_keep_a_gapless_chain_and_one_commission_per_order():
    partners = [PartnerFactory(), PartnerFactory()]
    first = services.record_commission(partners[0], "O-0", "rule", "1.00", Actor.system("t"))
    request = services.request_reversal(first, "cancelled", supervisor("anna", 1))

    def job(n: int) -> None:
        actor = Actor.system(f"orders-{n}")
        for k in range(5):
            # Every order twice, by different threads: the second finds the first.
            order = f"O-{(n // 2) * 5 + k + 1}"
            partner = partners[(n // 2) % 2]
            services.record_commission(partner, order, "rule", Decimal("2.50"), actor)

    jobs = [lambda n=n: job(n) for n in range(8)]
    jobs.append(lambda: services.approve_reversal(request, supervisor("ben", 2)))
    errors = _run_in_threads(jobs)

    assert errors == []
    seqs = list(CommissionEntry.objects.values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert CommissionEntry.objects.filter(kind="commission").count() == 1 + 20
    assert CommissionEntry.objects.filter(kind="reversal").count() == 1
    result = services.verify_ledger(batch_size=7)
    assert result.is_intact, result.problem
    assert result.checked == len(seqs) == 22
