"""Every real-world mail of the development corpus goes all the way: received, kept raw,
through the intake — or into quarantine with a reason. None raises, none is lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from casework.channels.email.models import RawEmail, RawEmailStatus
from casework.channels.email.services import receive_email

# The corpus lies beside the project root (../shared/data/mime_dev) on development machines.
CORPUS = Path(__file__).resolve().parents[4] / "shared" / "data" / "mime_dev"

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the mail corpus {CORPUS} is not here"),
]


def test_the_whole_corpus_is_received_without_loss(mailbox, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    files = sorted(
        path
        for path in CORPUS.rglob("*")
        if path.is_file() and path.suffix not in {".md", ".csv"} and path.name != "LICENSE"
    )

    for path in files:
        receive_email(path.read_bytes(), envelope_from="", recipients=[mailbox.address])

    statuses = dict.fromkeys(RawEmailStatus.values, 0)
    for status in RawEmail.objects.values_list("status", flat=True):
        statuses[status] += 1
    assert sum(statuses.values()) == len(files)  # every mail is kept, whatever became of it
    # Test suites reuse Message-IDs across variants of one mail: those count as repeats.
    processed = statuses[RawEmailStatus.INGESTED] + statuses[RawEmailStatus.DUPLICATE]
    assert processed > 0.9 * len(files)
    quarantined = RawEmail.objects.filter(status=RawEmailStatus.QUARANTINED)
    assert all(raw.reason for raw in quarantined)
