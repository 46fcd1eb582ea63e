"""Retention orders at ×50: responses from every channel, end to end on PostgreSQL.

    .venv/bin/python bench/retention.py [--responses 10000] [--submitters 4] [--job-workers 2]
                                        [--paced 1000] [--scans 10] [--ledger-entries 1000000]
                                        [--profile] [--keep] [--commit REV] [--quiet-wait 120]

The scenario of the issue: a campaign's answers arrive mixed, 40 % through the web link,
30 % as partner orders over the API, 20 % as scanned response cards and 10 % taken on the
phone; each becomes a retention order (`retention.responses.receive`), which runs straight
through (checked, contract changed, commission booked for partner orders, case resolved) in
the transaction that receives it, and is confirmed by e-mail afterwards: the `cases.notify`
job writes the confirmation (`OutboundEmail`), which `outbound.send_due` delivers over SMTP.
A few bad ones are mixed in on purpose (forged codes, a second card for a used code, a
partner sending the same order twice); they must become exceptions or repeated answers,
never a second order or commission.

What runs where (2 CPUs shared by all of it):

- **4 submitter processes** (this script, `--submitters`): each takes every fourth response
  of the plan, one after the other (with two, the phone answers — received while the
  submitter waits, as the desk's form does — bounded the arrivals near 80 a second). Web
  answers and letters are queued in-process with `retention.queue.accept()`, as the
  response page and the scan folder do (the page then waits for the outcome; that wait
  is the customer's, so the submitter goes on; the
  letters' codes as the scan reading decoded them: OCR is not in the throughput, as the
  target says); phone answers call `receive()` in-process, as the desk's phone form does;
  partner orders go as `POST /api/v1/partner/orders` with
  `Prefer: respond-async` (bearer token of a partner user with scope `orders`;
  `--sync-partners`: without the header, each placed while the submitter waits) to the
  product's server.
- **`casework serve --workers 2`** (granian, WSGI) on 127.0.0.1: the partner API.
- **`--job-workers` (2) background workers** (this script): `retention.queue.run_once()`
  (up to 50 queued answers in one transaction, `receive_batch()`), `kernel.jobs.run_due()`,
  then `channels.email.outbound.send_due()`, pass after pass, sleeping `--worker-idle`
  seconds after a pass that found nothing (what `casework worker` does with these three of
  its `CASEWORK_BACKGROUND_JOBS`; the others — webhooks, campaign sending, IMAP, intake
  queue, analytics — are left out).
- **The SMTP relay**: an aiosmtpd sink on 127.0.0.1 in this script's main process
  (`CASEWORK_SMTP_RELAY`), counting each Message-ID it receives.
- PostgreSQL on the same machine.

Phases, on a fresh database: (1) setup, not timed: `casework migrate`, the case type
published, offers, N customers with an active contract ending in 45 days and an e-mail
address, one campaign with a recipient (and code) per customer, a partner with an API user,
1,000,000 chained ledger entries (`--ledger-entries`), all in bulk (COPY); (2) a bare
INSERT + UPDATE transaction from as many processes as submitters (the baseline); (3) the
**throughput** run: every response as fast as the submitters go; orders/s = orders
confirmed automatically ÷ (last confirmation sent − first arrival); (4) the **paced** run:
`--paced` more responses arriving at `--paced-share` of the measured rate, for the handling
time of an order when the system is not saturated; (5) `--scans` real response letters of
the campaign, filled in, printed and scanned at 300 dpi, read by `scans.receive_scan()` on
one CPU (OCR + receive), against `read_scan()` alone; (6) the bare baseline again;
(7) `--profile`: in-process, SQL statements and time per order and per step, cProfile,
and the same mix received one at a time against `receive_batch()`;
(8) `partners.services.verify_ledger()` over the ledger (twice), against a bare read of the
same rows. Then the database is checked: every response answered as planned, one order per
accepted response, one commission per partner order, one confirmation each, sent once, no
failed job.

Handling time = the confirmation's `sent_at` − the moment the response arrived (the
submitter's clock just before `receive()` or the HTTP request; same machine).

Targets (the issue): median handling ≤ 1 s on the automatic path (judged on the paced run;
the saturated run's figure is printed too); ≥ 200 orders/s excluding OCR; OCR + code
decoding of a 300 dpi A4 page ≤ 1.5 s on one core (`bench/scan_reading.py` measures that in
depth; the scans phase here repeats it on real campaign letters).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import http.client
import json
import os
import pstats
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import case_engine
import dataset
import measure
import report
import servers

PG_DATABASE = "casework_bench_retention"
WORK_NAME = "retention"
TARGET_MEDIAN_SECONDS = 1.0
TARGET_ORDERS_PER_SECOND = 200.0
TARGET_OCR_SECONDS = 1.5
CASE_TYPE = "retention-order"
QUEUE_CODE = "retention"
MAILBOX = "service@casework-bench.example.com"
CAMPAIGN_CODE = "w26-vertragsende"
CAMPAIGN_OFFER = "international-option"  # what the campaign's recipients are offered
ORDER_OFFER = "discount-10"  # what phone and partner orders without a code name
PARTNER_CODE = "shop-bench"
PARTNER_USER = "shop-bench-api"
AGENT_USER = "bench-desk-agent"
CONTRACT_DAYS_LEFT = 45
MIX = (("web", 0.40), ("partner", 0.30), ("letter", 0.20), ("phone", 0.10))
WARM_UP_PER_SUBMITTER = 20
DUPLICATE_DISTANCE = 200  # a repeated code or order comes at least this many items later
BARE_TABLE = "bench_retention_bare"
RESPONSE_CODE_KEY = "casework-bench-retention-response-codes"
# (backends waiting for a lock, backends busy) once a second while the throughput run lasts
LOCK_SAMPLES: list[tuple[int, int]] = []
LOCK_QUERIES: Counter[str] = Counter()


# ---------------------------------------------------------------------------------------
# The database and the environment


@dataclass(frozen=True)
class Place:
    @property
    def url(self) -> str:
        return f"{dataset.PG_SERVER_URL}/{PG_DATABASE}"

    @property
    def data_dir(self) -> Path:
        return dataset.CACHE_DIR / f"{WORK_NAME}-data"

    @property
    def work_dir(self) -> Path:
        return dataset.CACHE_DIR / f"{WORK_NAME}-work"

    def drop(self) -> None:
        shutil.rmtree(self.data_dir, ignore_errors=True)
        shutil.rmtree(self.work_dir, ignore_errors=True)
        dataset._pg_admin(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')

    def create(self, env: dict[str, str]) -> float:
        began = time.perf_counter()
        self.drop()
        self.data_dir.mkdir(parents=True)
        self.work_dir.mkdir(parents=True)
        dataset._pg_admin(f'CREATE DATABASE "{PG_DATABASE}"')
        command = [str(servers.VENV_BIN / "casework"), "migrate", "-v", "0"]
        subprocess.run(command, env=env, check=True, timeout=900)
        return time.perf_counter() - began


def environment(place: Place, smtp_port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "CASEWORK_DATABASE_URL": place.url,
            "CASEWORK_DATA_DIR": str(place.data_dir),
            "DJANGO_SETTINGS_MODULE": dataset.SETTINGS_MODULE,
            "CASEWORK_SMTP_RELAY": f"{servers.HOST}:{smtp_port}",
            "CASEWORK_RESPONSE_CODE_KEY": RESPONSE_CODE_KEY,
            "CASEWORK_PUBLIC_URL": "https://kunden.casework-bench.example.com",
        }
    )
    env.setdefault("CASEWORK_LOG_LEVEL", "WARNING")
    no_proxy = ",".join(filter(None, [env.get("no_proxy", ""), "127.0.0.1", "localhost"]))
    env["no_proxy"] = env["NO_PROXY"] = no_proxy
    return env


def setup_django(env: dict[str, str]) -> None:
    for key, value in env.items():
        if key.startswith(("CASEWORK_", "DJANGO_")) or key.lower() == "no_proxy":
            os.environ[key] = value
    import django

    django.setup()


# ---------------------------------------------------------------------------------------
# Setup: reference data through the ORM, the bulk through COPY


@dataclass
class Setup:
    customers: int
    tokens: list[str]  # index i-1: customer i's recipient token
    partner_id: int
    partner_token: str
    agent_user_id: int
    seconds: dict[str, float] = field(default_factory=dict)
    ledger_head: tuple[int, str] = (0, "")


def seed_reference() -> tuple[int, int, str, int]:
    """Queue, case type, mailbox, product, offers, the partner with its API user, the desk
    agent who takes phone answers. Returns (product id, partner id, token, agent user id)."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from casework.api.tokens import create_token
    from casework.cases import process
    from casework.cases.models import CaseType
    from casework.channels.email.models import Mailbox
    from casework.customers.models import Product
    from casework.kernel.actors import Actor
    from casework.offers.models import Offer
    from casework.partners.models import Partner, PartnerAccount
    from casework.routing.models import Agent, Queue, Team

    with transaction.atomic():
        team, _ = Team.objects.get_or_create(
            code="retention-team", defaults={"name_de": "Rückgewinnung", "name_en": "Retention"}
        )
        Queue.objects.get_or_create(
            code=QUEUE_CODE,
            defaults={"name_de": "Rückgewinnung", "name_en": "Retention", "team": team},
        )
    process.forget_loaded_definitions()
    published = process.publish_configured([CASE_TYPE], actor=Actor.system("bench"))
    assert [entry.key for entry in published] == [CASE_TYPE], published
    with transaction.atomic():
        Mailbox.objects.get_or_create(
            address=MAILBOX,
            defaults={
                "display_name": "Kundenservice",
                "case_type": CaseType.objects.get(code=CASE_TYPE),
            },
        )
        product, _ = Product.objects.get_or_create(
            code="mobil-l",
            defaults={
                "kind": "tariff",
                "name_de": "Mobil L",
                "name_en": "Mobile L",
                "monthly_fee": "30.00",
            },
        )
        Offer.objects.get_or_create(
            code=CAMPAIGN_OFFER,
            defaults={
                "name_de": "Auslandsoption",
                "name_en": "International option",
                "extend_months": 24,
                "discount_percent": Decimal("10"),
                "interest_tag": "international-tariffs",
                "eligibility": "contract.ends_in_days <= 90",
                "value": Decimal("120"),
            },
        )
        Offer.objects.get_or_create(
            code=ORDER_OFFER,
            defaults={
                "name_de": "Rabatt 10 %",
                "name_en": "10 % discount",
                "extend_months": 24,
                "discount_percent": Decimal("10"),
                "eligibility": "contract.ends_in_days <= 90",
                "value": Decimal("80"),
            },
        )
        partner, _ = Partner.objects.get_or_create(
            code=PARTNER_CODE, defaults={"name": "Shop Bench GmbH"}
        )
        users = get_user_model().objects
        partner_user, _ = users.get_or_create(username=PARTNER_USER)
        PartnerAccount.objects.get_or_create(
            user=partner_user, defaults={"partner": partner, "scopes": ["orders"]}
        )
        agent_user, _ = users.get_or_create(
            username=AGENT_USER, defaults={"first_name": "Dana", "last_name": "Desk"}
        )
        agent, _ = Agent.objects.get_or_create(user=agent_user, defaults={"role": "agent"})
        agent.teams.add(team)
    token = create_token(PARTNER_USER, description="retention benchmark")
    return product.pk, partner.pk, token, agent_user.pk


def load_customers(total: int) -> float:
    """Customers 1..total (the data set's generator: names, e-mail, phone, number)."""
    from django.db import connection

    began = time.perf_counter()
    for indexes in dataset._chunks(total, dataset.CHUNK):
        dataset._insert_pg(*dataset._rows(indexes))
    with connection.cursor() as cursor:
        for table in ("customers_customer", "customers_customeridentifier"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
    return time.perf_counter() - began


def load_contracts(total: int, product_id: int) -> float:
    """An active contract per customer, 800 days old, ending in CONTRACT_DAYS_LEFT days."""
    from django.db import connection, transaction

    from casework.kernel import clock

    began = time.perf_counter()
    today = clock.localtime(clock.now()).date()
    now = clock.now()
    columns = (
        "id, created_at, updated_at, contract_number, status, start_date, end_date, "
        "monthly_fee, customer_id, product_id"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY customers_contract ({columns}) FROM STDIN") as copy:
            for index in range(1, total + 1):
                copy.write_row(
                    (
                        index,
                        now,
                        now,
                        f"V-{index:08d}",
                        "active",
                        today - timedelta(days=800),
                        today + timedelta(days=CONTRACT_DAYS_LEFT),
                        Decimal("30.00"),
                        index,
                        product_id,
                    )
                )
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('customers_contract', 'id'), "
            "(SELECT max(id) FROM customers_contract))"
        )
    return time.perf_counter() - began


def load_campaign(total: int) -> tuple[list[str], float]:
    """One letter campaign (its cards carry the QR link and the typed code) with a recipient
    per customer, each with a fresh random token."""
    from django.db import connection, transaction

    from casework.channels.email.models import Mailbox
    from casework.kernel import clock
    from casework.offers.models import Offer
    from casework.retention import codes
    from casework.retention.models import Campaign, CampaignChannel, CampaignStatus

    began = time.perf_counter()
    today = clock.localtime(clock.now()).date()
    now = clock.now()
    campaign = Campaign.objects.create(
        code=CAMPAIGN_CODE,
        name="Vertragsende W26",
        offer=Offer.objects.get(code=CAMPAIGN_OFFER),
        channel=CampaignChannel.LETTER,
        mailbox=Mailbox.objects.get(address=MAILBOX),
        audience="contract.ends_in_days >= 30 and contract.ends_in_days <= 90",
        subject_de="Ihr Vertrag endet bald, {{ customer.first_name }}",
        subject_en="Your contract ends soon, {{ customer.first_name }}",
        body_de="Hallo {{ customer.name }},\n\nunser Angebot für Sie: {{ offer.name }}.\n\n"
        "Antworten Sie mit der Karte unten oder unter {{ response.url }}.",
        body_en="Hello {{ customer.name }},\n\nour offer for you: {{ offer.name }}.\n\n"
        "Answer with the card below or at {{ response.url }}.",
        starts_at=now - timedelta(days=7),
        responses_until=today + timedelta(days=60),
        status=CampaignStatus.SENT,
    )
    tokens: list[str] = []
    seen: set[str] = set()
    while len(tokens) < total:
        token = codes.new_token()
        if token not in seen:
            seen.add(token)
            tokens.append(token)
    columns = "token, selected_at, sent_at, send_error, campaign_id, customer_id, offer_id"
    sent = now - timedelta(days=7)
    statement = f"COPY retention_recipient ({columns}) FROM STDIN"
    with transaction.atomic(), connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for index, token in enumerate(tokens, start=1):
            copy.write_row((token, sent, sent, "", campaign.pk, index, campaign.offer_id))
    return tokens, time.perf_counter() - began


def prefill_ledger(count: int, partner_id: int) -> tuple[float, tuple[int, str]]:
    """`count` commission entries of the partner's history, chained as the product chains
    them (`ledger_chain.entry_hash`), COPYed in and the head moved to the last. Foreign keys
    are not checked while loading (session_replication_role = replica): the rows are
    consistent by construction."""
    from django.db import connection, transaction

    from casework.partners.ledger_chain import GENESIS_HASH, entry_hash

    began = time.perf_counter()
    columns = (
        "seq, partner_id, order_reference, rule, amount, kind, reverses_id, reason, "
        "recorded_at, recorded_by, approved_by, prev_hash, hash"
    )
    prev = GENESIS_HASH
    start = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)
    rules = (
        ("decisions/partner-commission.yaml:discount-10", Decimal("20.00")),
        ("decisions/partner-commission.yaml:international-option", Decimal("30.00")),
        ("decisions/partner-commission.yaml:discount-20", Decimal("25.00")),
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        with cursor.cursor.copy(f"COPY partners_commissionentry ({columns}) FROM STDIN") as copy:
            for seq in range(1, count + 1):
                rule, amount = rules[seq % 3]
                row = (
                    seq,
                    partner_id,
                    f"H-{seq:08d}",
                    rule,
                    amount,
                    "commission",
                    None,
                    "",
                    start + timedelta(seconds=seq * 53),
                    "system:retention",
                    "",
                    prev,
                )
                prev = entry_hash(row)
                copy.write_row((*row, prev))
        cursor.execute("SET LOCAL session_replication_role = origin")
        cursor.execute(
            "UPDATE partners_ledgerhead SET last_seq = %s, last_hash = %s WHERE id = 1",
            [count, prev],
        )
        if cursor.rowcount != 1:
            cursor.execute(
                "INSERT INTO partners_ledgerhead (id, last_seq, last_hash) VALUES (1, %s, %s)",
                [count, prev],
            )
    return time.perf_counter() - began, (count, prev)


def setup_all(args: argparse.Namespace, customers: int) -> Setup:
    from django.db import connection

    seconds: dict[str, float] = {}
    began = time.perf_counter()
    product_id, partner_id, token, agent_user_id = seed_reference()
    seconds["reference data (ORM)"] = time.perf_counter() - began
    seconds["customers + identifiers (COPY)"] = load_customers(customers)
    seconds["contracts (COPY)"] = load_contracts(customers, product_id)
    tokens, seconds["campaign + recipients (COPY)"] = load_campaign(customers)
    head: tuple[int, str] = (0, "")
    if args.ledger_entries:
        seconds["ledger entries (hash chain, COPY)"], head = prefill_ledger(
            args.ledger_entries, partner_id
        )
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {BARE_TABLE} (id bigserial PRIMARY KEY, at timestamptz NOT NULL, "
            "payload text NOT NULL)"
        )
        cursor.execute("VACUUM ANALYZE")
    seconds["VACUUM ANALYZE"] = time.perf_counter() - began
    return Setup(customers, tokens, partner_id, token, agent_user_id, seconds, head)


# ---------------------------------------------------------------------------------------
# The plan: which response arrives on which channel, and what it should become


def code_of(token: str) -> str:
    from casework.retention import codes

    return codes.code_for(token)


def forge(code: str, rng: random.Random) -> str:
    """The same code with one character of the signature changed: misread or made up."""
    from casework.retention import codes

    position = rng.randrange(len(code) - 4, len(code))
    if code[position] == "-":
        position -= 1
    wrong = rng.choice([c for c in codes.ALPHABET if c != code[position]])
    return code[:position] + wrong + code[position + 1 :]


def customer_number(index: int) -> str:
    return dataset.customer_spec(index).customer_number


def genuine_item(kind: str, index: int, setup: Setup, number: int, rng: random.Random) -> dict:
    """A clean response of customer `index` on channel `kind`: it must become an order."""
    item: dict[str, Any] = {"kind": kind, "customer": index, "expect": "ordered"}
    code = code_of(setup.tokens[index - 1])
    if kind in ("web", "letter"):
        item["code"] = code
    elif kind == "phone":
        item["offer"] = ORDER_OFFER
    else:
        item["order"] = f"SB-{number:07d}"
        # A third of the shop's customers bring their card; the others are named by number.
        if rng.random() < 1 / 3:
            item["code"] = code
        else:
            item["customer_number"] = customer_number(index)
            item["offer"] = ORDER_OFFER
    return item


def make_plan(
    count: int,
    first_customer: int,
    setup: Setup,
    rng: random.Random,
    *,
    forged_share: float,
    duplicate_share: float,
    resend_share: float,
    order_numbers: Iterator[int],
) -> tuple[list[dict], int]:
    """`count` responses in the MIX; of them forged codes (half on cards, half at the shop),
    second deliveries of a code used earlier in the plan (half on a card, half at a shop),
    and partner orders sent a second time. Returns (items, customers used)."""
    totals = {kind: round(count * share) for kind, share in MIX}
    totals["web"] += count - sum(totals.values())
    forged = round(count * forged_share)
    duplicates = round(count * duplicate_share)
    resends = round(count * resend_share)
    injected = {"letter": forged // 2 + duplicates // 2, "partner": forged - forged // 2}
    injected["partner"] += duplicates - duplicates // 2 + resends
    base_kinds = []
    for kind, total in totals.items():
        base_kinds += [kind] * max(total - injected.get(kind, 0), 0)
    rng.shuffle(base_kinds)
    items = []
    customer = first_customer
    for kind in base_kinds:
        items.append(genuine_item(kind, customer, setup, next(order_numbers), rng))
        customer += 1
    coded = [i for i, item in enumerate(items) if item["kind"] in ("web", "letter")]
    partner_orders = [i for i, item in enumerate(items) if item["kind"] == "partner"]
    extras: list[tuple[int, dict]] = []  # (insert after this index, item)
    for n in range(forged):
        kind = "letter" if n < forged // 2 else "partner"
        victim = items[rng.choice(coded)]
        item = {"kind": kind, "code": forge(victim["code"], rng), "expect": "code_forged"}
        if kind == "partner":
            item["order"] = f"SB-{next(order_numbers):07d}"
        extras.append((rng.randrange(len(items)), item))
    early_coded = [i for i in coded if i < len(items) - DUPLICATE_DISTANCE] or coded
    for n, original in enumerate(rng.sample(early_coded, min(duplicates, len(early_coded)))):
        kind = "letter" if n < duplicates // 2 else "partner"
        item = {
            "kind": kind,
            "code": items[original]["code"],
            "customer": items[original]["customer"],
            "expect": "code_used",
        }
        if kind == "partner":
            item["order"] = f"SB-{next(order_numbers):07d}"
        where = rng.randrange(min(original + DUPLICATE_DISTANCE, len(items) - 1), len(items))
        extras.append((where, item))
    early_orders = [i for i in partner_orders if i < len(items) - DUPLICATE_DISTANCE]
    pool = early_orders or partner_orders
    for original in rng.sample(pool, min(resends, len(pool))):
        item = {**items[original], "expect": "repeat", "repeat_of": items[original]["order"]}
        where = rng.randrange(min(original + DUPLICATE_DISTANCE, len(items) - 1), len(items))
        extras.append((where, item))
    by_position: dict[int, list[dict]] = defaultdict(list)
    for where, item in extras:
        by_position[where].append(item)
    planned = []
    for position, item in enumerate(items):
        planned.append(item)
        planned += by_position.get(position, [])
    return planned, customer - first_customer


def counter_from(start: int) -> Iterator[int]:
    value = start
    while True:
        yield value
        value += 1


# ---------------------------------------------------------------------------------------
# The SMTP relay: a sink on loopback


class Sink:
    """aiosmtpd handler: counts deliveries per Message-ID."""

    _MESSAGE_ID = re.compile(rb"^Message-ID:\s*<([^>]+)>", re.IGNORECASE | re.MULTILINE)

    def __init__(self) -> None:
        self.by_message_id: Counter[str] = Counter()
        self.messages = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        found = self._MESSAGE_ID.search(envelope.content)
        self.by_message_id[found.group(1).decode() if found else "?"] += 1
        self.messages += 1
        return "250 OK"


@contextlib.contextmanager
def smtp_sink() -> Iterator[tuple[Sink, int]]:
    from aiosmtpd.controller import Controller

    sink = Sink()
    port = servers.free_port()
    controller = Controller(sink, hostname=servers.HOST, port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


# ---------------------------------------------------------------------------------------
# Child processes of this script


class Children:
    """Submitters, background workers or bare updaters: each sets Django up, says `ready`,
    and (except workers) waits for `go` on stdin; each prints one JSON line at the end.
    Always stopped by their own PIDs."""

    def __init__(self, env: dict[str, str], role: str, args: list[list[str]], log: Path) -> None:
        self.env, self.role, self.args, self.log = env, role, args, log
        self.processes: list[subprocess.Popen[str]] = []
        self.lines: list[dict[str, Any]] = []

    def __enter__(self) -> Children:
        for index, extra in enumerate(self.args):
            command = [sys.executable, str(Path(__file__).resolve()), "--child", self.role]
            command += ["--child-index", str(index), *extra]
            log = open(f"{self.log}.{index}", "w")  # noqa: SIM115  (the child holds it)
            self.processes.append(
                subprocess.Popen(
                    command,
                    env=self.env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    text=True,
                    start_new_session=True,
                )
            )
            log.close()
        for process in self.processes:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            if line != "ready":
                raise SystemExit(f"{self.role} child did not start (see {self.log}.*): {line!r}")
        return self

    def go(self) -> float:
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        return time.time()

    def running(self) -> bool:
        return any(process.poll() is None for process in self.processes)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)

    def result_lines(self) -> list[dict[str, Any]]:
        """The JSON line each child prints when its work is done (it then waits, alive,
        until `results()` closes its stdin)."""
        found = []
        for process in self.processes:
            assert process.stdout is not None
            line = process.stdout.readline()
            found.append(json.loads(line) if line.startswith("{") else {"failed": process.poll()})
        self.lines = found
        return found

    def results(self, timeout: float) -> list[dict[str, Any]]:
        found = []
        for index, process in enumerate(self.processes):
            assert process.stdout is not None
            out, _err = process.communicate(timeout=timeout)
            lines = [line for line in out.splitlines() if line.startswith("{")]
            earlier = self.lines[index] if self.lines else {"failed": process.returncode}
            found.append(json.loads(lines[-1]) if lines else earlier)
        return found

    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def __exit__(self, *exc_info: object) -> None:
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def child_main(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.db import connection

    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    connection.ensure_connection()
    if args.child == "jobs":
        result = jobs_loop(args, lambda: stopping)
    elif args.child == "submit":
        result = submit_loop(args)
    else:
        result = bare_loop(args)
    print(json.dumps(result), flush=True)
    if args.child != "jobs":
        # Alive (and counted as the benchmark's own CPU) until the phase's measurement ends:
        # the parent closes stdin when it has taken it.
        sys.stdin.read()
    connection.close()


def jobs_loop(args: argparse.Namespace, stopping: Callable[[], bool]) -> dict[str, Any]:
    """What `casework worker` does with `retention.queue.run_once`, `kernel.jobs.run_due`
    and `outbound.send_due`."""
    from casework.channels.email import outbound
    from casework.kernel import jobs
    from casework.retention import queue

    jobs._discover_handlers()
    print("ready", flush=True)
    ran = sent = passes = empty = received = 0
    cpu_began, began = time.process_time(), time.time()
    while not stopping():
        taken = queue.run_once()
        received += taken
        count = jobs.run_due() + taken
        mails = outbound.send_due()
        if args.send_until_empty:
            # Not what `casework worker` does (one send_due per pass): the experiment of
            # sending every due mail before the next pass of jobs.
            while mails and mails % 20 == 0:
                more = outbound.send_due()
                mails += more
                if not more:
                    break
        passes += 1
        ran += count
        sent += mails
        if not count and not mails:
            empty += 1
            time.sleep(args.worker_idle)
    return {
        "jobs": ran,
        "queued_responses": received,
        "mails": sent,
        "passes": passes,
        "empty_passes": empty,
        "seconds": time.time() - began,
        "cpu_seconds": time.process_time() - cpu_began,
    }


class Submitter:
    """Receives responses in-process (web, letter, phone) or posts partner orders to the
    server, one after the other."""

    def __init__(self, args: argparse.Namespace) -> None:
        from casework.kernel.actors import Actor
        from casework.routing.models import Agent
        from casework.routing.queries import actor_for_agent

        self.port = args.server_port
        self.token = args.token
        self.agent_user_id = args.agent_user_id
        self.agent_actor = actor_for_agent(Agent.objects.get(user_id=args.agent_user_id))
        self.customer_actor = Actor.customer
        self.http = http.client.HTTPConnection(servers.HOST, self.port, timeout=120)
        self.partners_wait = args.sync_partners

    # The response page and the scan folder queue the answers (ADR 18); the page's wait for
    # the outcome is that customer's, not the next one's: the submitter goes on at once.
    queued_kinds = frozenset({"web", "letter"})

    def handle(self, item: dict[str, Any]) -> dict[str, Any]:
        """Returns what the caller would see: the response id (in-process) or the HTTP
        status and answer (partner), the outcome and whether it was a repeat."""
        if item["kind"] == "partner":
            return self._partner(item)
        from casework.retention import queue
        from casework.retention.responses import receive

        incoming, actor = incoming_of(item, self)  # type: ignore[arg-type]
        if item["kind"] in self.queued_kinds:
            entry = queue.accept(incoming, actor=actor).entry
            assert entry is not None
            return {"pending": entry.pk, "outcome": "", "reason": "", "repeat": False}
        received = receive(incoming, actor=actor)
        response = received.response
        return {
            "response": response.pk,
            "outcome": response.outcome,
            "reason": response.reason,
            "repeat": received.is_repeat,
        }

    def _partner(self, item: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"order": item["order"]}
        if item.get("code"):
            body["response_code"] = item["code"]
        if item.get("customer_number"):
            body["customer_number"] = item["customer_number"]
        if item.get("offer"):
            body["offer"] = item["offer"]
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/json",
            "Idempotency-Key": f"idem-{item['order']}",
        }
        if not self.partners_wait:
            headers["Prefer"] = "respond-async"
        for attempt in range(2):
            try:
                self.http.request(
                    "POST", "/api/v1/partner/orders", json.dumps(body).encode(), headers
                )
                answer = self.http.getresponse()
                data = answer.read()
                break
            except (OSError, http.client.HTTPException):
                self.http.close()
                if attempt:
                    raise
        if answer.getheader("Connection", "").lower() == "close":
            self.http.close()
        result: dict[str, Any] = {"status": answer.status, "order": item["order"]}
        try:
            decoded = json.loads(data)
        except ValueError:
            decoded = {"raw": data[:200].decode(errors="replace")}
        result["outcome"] = decoded.get("outcome", "")
        result["reason"] = decoded.get("reason", "")
        result["case_reference"] = decoded.get("case_reference")
        result["repeat"] = answer.status == 200
        if answer.status >= 300:
            result["error"] = json.dumps(decoded)[:300]
        return result


def incoming_of(item: dict[str, Any], submitter: InProcess) -> tuple[Any, Any]:
    """(IncomingResponse, actor) of a web, letter or phone item as the response page, the
    scan upload and the desk build them; a partner item as the partner API builds it."""
    from casework.customers.models import Customer
    from casework.kernel.actors import Actor
    from casework.partners.models import Partner
    from casework.retention.models import ResponseChannel
    from casework.retention.responses import IncomingResponse

    kind = item["kind"]
    if kind == "web":
        incoming = IncomingResponse(channel=ResponseChannel.WEB, code=item["code"])
        return incoming, submitter.customer_actor(item["customer"])
    if kind == "letter":
        incoming = IncomingResponse(
            channel=ResponseChannel.LETTER,
            code=item["code"],
            details={"scan": f"bench-{item['code']}", "page": 1, "source": "bench"},
        )
        return incoming, submitter.agent_actor  # the mail room uploads the scans
    if kind == "phone":
        # The agent has the customer's page open (the desk view reads the customer).
        customer = Customer.objects.get(pk=item["customer"])
        incoming = IncomingResponse(
            channel=ResponseChannel.PHONE,
            customer=customer,
            offer_code=item["offer"],
            agent_user_id=submitter.agent_user_id,
        )
        return incoming, submitter.agent_actor
    partner = Partner.objects.get(code=PARTNER_CODE)
    customer = None
    if item.get("customer_number"):
        customer = Customer.objects.get(customer_number=item["customer_number"])
    incoming = IncomingResponse(
        channel=ResponseChannel.PARTNER,
        code=item.get("code", ""),
        customer=customer,
        offer_code=item.get("offer", ""),
        partner=partner,
        partner_reference=item["order"],
        idempotency_key=f"idem-{item['order']}",
    )
    return incoming, Actor.system(f"partner:{partner.code}")


def submit_loop(args: argparse.Namespace) -> dict[str, Any]:
    plan = json.loads(Path(args.plan).read_text())
    submitter = Submitter(args)
    for item in plan["warm_up"]:
        submitter.handle(item)
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return {"aborted": True}
    results = []
    cpu_began, began = time.process_time(), time.time()
    for item in plan["items"]:
        at = item.get("at")
        if at is not None:
            delay = began + at - time.time()
            if delay > 0:
                time.sleep(delay)
        arrived = time.time()
        try:
            outcome = submitter.handle(item)
        except Exception as error:  # noqa: BLE001  (reported and counted, not fatal)
            outcome = {"error": f"{type(error).__name__}: {error}"[:300]}
        outcome.update({"n": item["n"], "arrived": arrived, "returned": time.time()})
        results.append(outcome)
    partial = Path(f"{args.out}.partial")
    partial.write_text(json.dumps(results))
    partial.rename(args.out)  # the parent watches for this file: the submitter is done
    return {
        "count": len(results),
        "began": began,
        "ended": time.time(),
        "cpu_seconds": time.process_time() - cpu_began,
    }


def bare_loop(args: argparse.Namespace) -> dict[str, Any]:
    """`--count` transactions of one INSERT and one UPDATE of a random contract row."""
    from django.db import connection, transaction

    rng = random.Random(args.seed)
    ids = [rng.randint(1, args.customers) for _ in range(args.count)]
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return {"aborted": True}
    latencies = []
    clock = time.perf_counter
    began = time.time()
    with connection.cursor() as cursor:
        for contract_id in ids:
            started = clock()
            with transaction.atomic():
                cursor.execute(
                    f"INSERT INTO {BARE_TABLE} (at, payload) VALUES (now(), %s)",
                    [f"contract {contract_id}"],
                )
                cursor.execute(
                    "UPDATE customers_contract SET updated_at = now() WHERE id = %s",
                    [contract_id],
                )
            latencies.append(round((clock() - started) * 1000, 4))
    return {"count": len(ids), "began": began, "ended": time.time(), "latencies_ms": latencies}


# ---------------------------------------------------------------------------------------
# Phases


def bare_phase(env: dict[str, str], args: argparse.Namespace, customers: int, log: Path) -> dict:
    per_child = max(args.bare // args.submitters, 1)
    child_args = [
        ["--count", str(per_child), "--seed", str(index), "--customers", str(customers)]
        for index in range(args.submitters)
    ]
    measure.wait_for_quiet(args.quiet_wait)
    with Children(env, "bare", child_args, log) as kids:
        with measure.MachineLoad(PG_DATABASE) as load:
            began = kids.go()
            results = kids.result_lines()
        kids.results(timeout=60)
    failed = [result for result in results if "failed" in result]
    if failed:
        raise SystemExit(f"bare transaction children failed: {failed} (see {log}.*)")
    ended = max(result["ended"] for result in results)
    count = sum(result["count"] for result in results)
    latencies = [ms / 1000 for result in results for ms in result["latencies_ms"]]
    figures = {
        "transactions": count,
        "seconds": ended - began,
        "per_second": count / (ended - began),
        "latency": measure.Latency.of(latencies),
        "machine_load": load,
    }
    print(
        f"bare INSERT + UPDATE + COMMIT: {figures['per_second']:,.0f}/s from "
        f"{args.submitters} processes, p50 {figures['latency'].p50:.2f} ms; {load.describe()}"
    )
    return figures


@dataclass
class Running:
    """The services that stay up through the measured phases."""

    server: servers.CaseworkServer
    workers: Children
    sink: Sink


def cpu_of(pids: list[int]) -> float:
    return sum(servers.cpu_seconds(pid) for pid in pids if pid)


def postgres_cpu() -> dict[int, float]:
    """CPU seconds of every PostgreSQL server process (backends, WAL writer, checkpointer)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as handle:
                if handle.read().strip() != "postgres":
                    continue
        except OSError:
            continue
        found[int(entry)] = servers.cpu_seconds(int(entry))
    return found


class CpuMeter:
    """CPU seconds by role over a phase: submitters, server workers, background workers,
    PostgreSQL, this process (the SMTP sink and the watcher). PostgreSQL backends that ended
    during the phase are missing (a server connection lives up to 60 s)."""

    def __init__(self, roles: dict[str, Callable[[], list[int]]]) -> None:
        self.roles = roles

    def __enter__(self) -> CpuMeter:
        self.before = {
            role: {pid: servers.cpu_seconds(pid) for pid in pids()}
            for role, pids in self.roles.items()
        }
        self.pg_before = postgres_cpu()
        self.main_before = time.process_time()
        self.began = time.monotonic()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.seconds = time.monotonic() - self.began
        self.figures: dict[str, float] = {}
        for role, pids in self.roles.items():
            total = 0.0
            for pid in pids():
                now = servers.cpu_seconds(pid)
                if now == now:
                    total += now - self.before[role].get(pid, 0.0)
            self.figures[role] = total
        after = postgres_cpu()
        self.figures["PostgreSQL (all its processes)"] = sum(
            seconds - self.pg_before.get(pid, 0.0)
            for pid, seconds in after.items()
            if seconds == seconds
        )
        self.figures["this process (SMTP sink, watcher)"] = time.process_time() - self.main_before


def start_services(env: dict[str, str], args: argparse.Namespace, sink: Sink) -> Running:
    log_dir = Place().work_dir
    server = servers.CaseworkServer(
        env, workers=args.server_workers, log_path=log_dir / "server.log"
    )
    server.start()
    worker_args = [
        ["--worker-idle", str(args.worker_idle)]
        + (["--send-until-empty"] if args.send_until_empty else [])
        for _ in range(args.job_workers)
    ]
    workers = Children(env, "jobs", worker_args, log_dir / "jobs.log")
    try:
        workers.__enter__()
    except BaseException:
        server.stop()
        raise
    print(
        f"background workers: {args.job_workers} × (jobs.run_due + outbound.send_due), idle "
        f"sleep {args.worker_idle} s (pids {', '.join(map(str, workers.pids()))})"
    )
    return Running(server, workers, sink)


def backlog() -> tuple[int, int]:
    """(jobs due within 10 minutes and queued responses, e-mails waiting to be sent)."""
    from django.db import connection

    from casework.kernel import clock

    horizon = clock.now() + timedelta(minutes=10)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM kernel_job WHERE status = 'queued' AND next_attempt_at <= %s",
            [horizon],
        )
        jobs = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM retention_pendingresponse WHERE status = 'queued'")
        jobs += cursor.fetchone()[0]  # answers waiting to be received: work due as well
        cursor.execute(
            "SELECT count(*) FROM email_channel_outboundemail WHERE status = 'pending' "
            "AND next_attempt_at <= %s",
            [horizon],
        )
        mails = cursor.fetchone()[0]
    return jobs, mails


def wait_drained(max_seconds: float, *, sample_locks: bool = False, began: float = 0.0) -> bool:
    """Until no job is due and no e-mail waits (the submitters are done), or time is up."""
    from django.db import connection

    deadline = time.monotonic() + max_seconds
    next_report = time.time() + 30
    while time.monotonic() < deadline:
        jobs, mails = backlog()
        if sample_locks:
            sample_lock_waits()
        connection.close()
        if not jobs and not mails:
            return True
        if time.time() >= next_report:
            print(f"  {time.time() - began:7.0f} s  draining: {jobs:,} jobs due, {mails:,} e-mails")
            next_report += 30
        time.sleep(0.5)
    return False


def sample_lock_waits() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), count(*) "
            "FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state <> 'idle'",
        )
        LOCK_SAMPLES.append(cursor.fetchone())
        cursor.execute(
            "SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 80) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        LOCK_QUERIES.update(row[0] for row in cursor.fetchall())


def run_submitters(
    env: dict[str, str],
    args: argparse.Namespace,
    setup: Setup,
    running: Running,
    items: list[dict],
    warm_up: list[dict],
    name: str,
    *,
    sample_locks: bool = False,
) -> dict[str, Any]:
    """Split `items` over the submitters (every k-th), warm up, drain, go, watch until the
    submitters are done and every job and e-mail of theirs is through."""
    from django.db import connection
    from django.db.models import Max

    from casework.channels.email.models import OutboundEmail
    from casework.kernel.models import Job
    from casework.retention.models import Response

    work = Place().work_dir
    child_args = []
    outs = []
    for index in range(args.submitters):
        plan_path = work / f"{name}-plan-{index}.json"
        out_path = work / f"{name}-out-{index}.json"
        plan = {
            "items": items[index :: args.submitters],
            "warm_up": warm_up[index :: args.submitters],
        }
        plan_path.write_text(json.dumps(plan))
        outs.append(out_path)
        child_args.append(
            [
                "--plan",
                str(plan_path),
                "--out",
                str(out_path),
                "--server-port",
                str(running.server.port),
                "--token",
                setup.partner_token,
                "--agent-user-id",
                str(setup.agent_user_id),
                *(["--sync-partners"] if args.sync_partners else []),
            ]
        )
    with Children(env, "submit", child_args, work / f"{name}-submit.log") as submitters:
        if not wait_drained(600):
            raise SystemExit("the warm-up's jobs and e-mails did not drain")
        first_response = (Response.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
        first_job = (Job.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
        first_mail = (OutboundEmail.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
        sent_before = running.sink.messages
        measure.wait_for_quiet(args.quiet_wait)
        LOCK_SAMPLES.clear()
        LOCK_QUERIES.clear()
        roles = {
            "submitters": submitters.pids,
            "server workers": lambda: running.server.worker_pids,
            "background workers": running.workers.pids,
        }
        with measure.MachineLoad(PG_DATABASE) as load, CpuMeter(roles) as cpu:
            began = submitters.go()
            deadline = time.monotonic() + args.max_seconds
            next_report = time.time() + 30
            peak_jobs = peak_mails = 0
            ticks = 0
            while (
                submitters.running()
                and not all(path.exists() for path in outs)
                and time.monotonic() < deadline
            ):
                time.sleep(1.0)
                ticks += 1
                if sample_locks:
                    sample_lock_waits()
                if ticks % 5 == 0:
                    jobs, mails = backlog()
                    peak_jobs, peak_mails = max(peak_jobs, jobs), max(peak_mails, mails)
                if time.time() >= next_report:
                    jobs, mails = backlog()
                    done = Response.objects.filter(pk__gte=first_response).count()
                    print(
                        f"  {time.time() - began:7.0f} s  {done:,} responses received, "
                        f"{jobs:,} jobs due, {mails:,} e-mails waiting"
                    )
                    next_report += 30
                connection.close()
            submitted = time.time()
            drained = wait_drained(
                max(deadline - time.monotonic(), 60), sample_locks=sample_locks, began=began
            )
        results = submitters.results(timeout=300)
    failed = [result for result in results if "failed" in result]
    if failed:
        raise SystemExit(f"submitters failed: {failed} (see {work}/{name}-submit.log.*)")
    outcomes = []
    for path in outs:
        outcomes += json.loads(path.read_text())
    return {
        "began": began,
        "submitted": submitted,
        "drained": drained,
        "outcomes": outcomes,
        "first_response": first_response,
        "first_job": first_job,
        "first_mail": first_mail,
        "mails_at_sink": running.sink.messages - sent_before,
        "peak_backlog": (peak_jobs, peak_mails),
        "submitter_results": results,
        "machine_load": load,
        "cpu": cpu.figures,
        "cpu_wall": cpu.seconds,
    }


# ---------------------------------------------------------------------------------------
# What the database says about a phase


def collect(phase: dict[str, Any], items: list[dict], sink: Sink) -> dict[str, Any]:
    """Join what the submitters saw with the database: per response its outcome, case,
    resolution, confirmation and when it was sent."""
    from django.db.models import Count

    from casework.cases.models import Case, Task
    from casework.channels.email.models import OutboundEmail
    from casework.kernel.models import Job
    from casework.partners.models import CommissionEntry
    from casework.retention.models import PendingResponse, Response

    by_n = {item["n"]: item for item in items}
    responses = {
        row["pk"]: row
        for row in Response.objects.filter(pk__gte=phase["first_response"]).values(
            "pk",
            "channel",
            "outcome",
            "reason",
            "received_at",
            "case_id",
            "partner_reference",
            "recipient_id",
        )
    }
    by_order = {
        row["partner_reference"]: pk for pk, row in responses.items() if row["partner_reference"]
    }
    pending_ids = [outcome["pending"] for outcome in phase["outcomes"] if "pending" in outcome]
    received_as = dict(
        PendingResponse.objects.filter(pk__in=pending_ids).values_list("pk", "response_id")
    )
    case_ids = [row["case_id"] for row in responses.values() if row["case_id"]]
    low, high = (min(case_ids), max(case_ids)) if case_ids else (0, -1)
    cases = {
        row["pk"]: row
        for row in Case.objects.filter(pk__gte=low, pk__lte=high).values(
            "pk", "status", "process_status", "stage", "resolved_at", "created_at"
        )
    }
    exception_tasks = Counter(
        Task.objects.filter(case_id__gte=low, case_id__lte=high, kind="exception").values_list(
            "case_id", flat=True
        )
    )
    mails: dict[int, list[dict]] = defaultdict(list)
    for row in OutboundEmail.objects.filter(
        pk__gte=phase["first_mail"], kind=OutboundEmail.Kind.NOTIFICATION
    ).values("case_id", "status", "sent_at", "created_at", "message_id", "attempts"):
        mails[row["case_id"]].append(row)
    orders = []  # one per response the submitters sent, with everything known about it
    errors = []
    for outcome in phase["outcomes"]:
        item = by_n[outcome["n"]]
        if "error" in outcome:
            errors.append((item["kind"], outcome["error"]))
            continue
        pk = (
            outcome.get("response")
            or received_as.get(outcome.get("pending"))
            or by_order.get(outcome.get("order", ""))
        )
        if item.get("expect") == "repeat":
            pk = by_order.get(item["repeat_of"])
        response = responses.get(pk) if pk else None
        case = cases.get(response["case_id"]) if response and response["case_id"] else None
        confirmations = mails.get(response["case_id"], []) if response else []
        sent = [row["sent_at"] for row in confirmations if row["sent_at"] is not None]
        orders.append(
            {
                "n": outcome["n"],
                "kind": item["kind"],
                "code": item.get("code"),
                "expect": item["expect"],
                "arrived": outcome["arrived"],
                "returned": outcome["returned"],
                "status": outcome.get("status"),
                "repeat": outcome.get("repeat", False),
                "outcome": response["outcome"] if response else None,
                "reason": response["reason"] if response else None,
                "response": pk,
                "received_at": response["received_at"].timestamp() if response else None,
                "case": response["case_id"] if response else None,
                "stage": case["stage"] if case else None,
                "process_status": case["process_status"] if case else None,
                "resolved_at": case["resolved_at"].timestamp()
                if case and case["resolved_at"]
                else None,
                "exception_tasks": exception_tasks.get(response["case_id"], 0) if response else 0,
                "confirmations": len(confirmations),
                "sent_at": min(sent).timestamp() if sent else None,
                "sink_deliveries": sum(
                    sink.by_message_id.get(row["message_id"], 0) for row in confirmations
                ),
                "mail_attempts": max((row["attempts"] for row in confirmations), default=0),
            }
        )
    jobs = Job.objects.filter(pk__gte=phase["first_job"])
    by_status = dict(jobs.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    by_kind = dict(jobs.values_list("kind").annotate(n=Count("id")).values_list("kind", "n"))
    partner_refs = [o["n"] for o in orders if o["kind"] == "partner"]
    planned_orders = {by_n[n].get("order") for n in partner_refs} - {None}
    commissions = Counter(
        CommissionEntry.objects.filter(order_reference__in=list(planned_orders)).values_list(
            "order_reference", flat=True
        )
    )
    return {
        "orders": orders,
        "errors": errors,
        "responses_in_db": len(responses),
        "jobs_by_status": by_status,
        "jobs_by_kind": by_kind,
        "jobs_retried": jobs.filter(attempts__gt=1).count(),
        "commissions": commissions,
        "planned_partner_orders": planned_orders,
    }


def is_automatic(order: dict[str, Any]) -> bool:
    """Ordered, completed in the offer-accepted stage, no exception task, confirmed."""
    return (
        order["outcome"] == "ordered"
        and not order["repeat"]
        and order["stage"] == "offer-accepted"
        and order["process_status"] == "completed"
        and not order["exception_tasks"]
        and order["sent_at"] is not None
    )


def figures_of(phase: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    orders = data["orders"]
    automatic = [order for order in orders if is_automatic(order)]
    opened = [order for order in orders if order["case"] and not order["repeat"]]
    first_arrival = min(order["arrived"] for order in orders)
    last_return = max(order["returned"] for order in orders)
    last_sent = max((order["sent_at"] for order in automatic), default=float("nan"))
    wall = last_sent - first_arrival
    handling = [order["sent_at"] - order["arrived"] for order in automatic]
    resolved = [order["resolved_at"] - order["arrived"] for order in automatic]
    received = [order["returned"] - order["arrived"] for order in orders]
    by_kind: dict[str, Any] = {}
    for kind, _share in MIX:
        chosen = [order for order in automatic if order["kind"] == kind]
        by_kind[kind] = {
            "handling": measure.Latency.of([o["sent_at"] - o["arrived"] for o in chosen]),
            "receive": measure.Latency.of([o["returned"] - o["arrived"] for o in chosen]),
        }
    reasons = Counter(order["reason"] for order in opened if order["outcome"] == "exception")
    return {
        "responses": len(orders),
        "automatic": len(automatic),
        "opened": len(opened),
        "automation_rate": len(automatic) / max(len(opened), 1),
        "exceptions_by_reason": dict(reasons),
        "wall_seconds": wall,
        "orders_per_second": len(automatic) / wall if wall > 0 else float("nan"),
        "receive_seconds": last_return - first_arrival,
        "receive_per_second": len(orders) / max(last_return - first_arrival, 1e-9),
        "handling": measure.Latency.of(handling),
        "resolved": measure.Latency.of(resolved),
        "receive": measure.Latency.of(received),
        "by_kind": by_kind,
        "drain_after_submitted": max(last_sent - last_return, 0.0),
        "peak_backlog": phase["peak_backlog"],
        "tenths": tenths_of(orders),
    }


def tenths_of(orders: list[dict[str, Any]]) -> list[tuple[str, int, float, float, float]]:
    """The run in ten slices by arrival: responses/s received and the median receive time
    of each, so a slowdown as the tables grow shows."""
    ordered = sorted(orders, key=lambda order: order["arrived"])
    size = max(len(ordered) // 10, 1)
    rows = []
    for index in range(0, len(ordered) - size + 1, size):
        chunk = ordered[index : index + size]
        span = max(order["returned"] for order in chunk) - chunk[0]["arrived"]
        received = [order["returned"] - order["arrived"] for order in chunk]
        rows.append(
            (
                f"{index + 1:,}–{index + len(chunk):,}",
                len(chunk),
                len(chunk) / max(span, 1e-9),
                1000 * statistics.median(received),
                1000 * measure.percentile(received, 95),
            )
        )
    return rows[:10]


def _swapped_by_the_queue(orders: list[dict[str, Any]]) -> set[int]:
    """A code answered twice (on the web, later on a card or at a shop) makes one order and
    one `code_used` exception. Queued web answers are decided by the workers, so the later
    card, received at once, may be the one that orders: both are right then. The numbers
    of the responses of such pairs."""
    by_code: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for order in orders:
        if order["code"] and order["expect"] in ("ordered", "code_used"):
            by_code[order["code"]].append(order)
    swapped = set()
    for pair in by_code.values():
        if len(pair) != 2:
            continue
        first, second = sorted(pair, key=lambda order: order["expect"] != "ordered")
        if (first["outcome"], first["reason"]) == ("exception", "code_used") and second[
            "outcome"
        ] == "ordered":
            swapped |= {first["n"], second["n"]}
    return swapped


def problems_of(data: dict[str, Any]) -> list[str]:
    """Every response must have become what the plan says, and nothing twice."""
    problems = []
    orders = data["orders"]
    for kind, error in data["errors"][:5]:
        problems.append(f"{kind}: {error}")
    if data["errors"]:
        problems.append(f"{len(data['errors'])} responses failed with an error")
    wrong = Counter()
    swapped = _swapped_by_the_queue(orders)
    for order in orders:
        expect = order["expect"]
        if order["n"] in swapped:
            expect = "code_used" if expect == "ordered" else "ordered"
        if expect == "ordered":
            ok = is_automatic(order) and order["status"] in (None, 201, 202)
        elif expect == "repeat":
            # 202 for a repeat that came while the first still waited to be placed.
            ok = (order["repeat"] and order["status"] == 200) or order["status"] == 202
        else:
            ok = (
                order["outcome"] == "exception"
                and order["reason"] == expect
                and order["exception_tasks"] == 1
                and order["confirmations"] == 0
            )
        if not ok:
            wrong[(order["kind"], expect, order["outcome"], order["reason"])] += 1
    for (kind, expect, outcome, reason), n in wrong.most_common(8):
        problems.append(f"{n} × {kind} expected {expect}, got {outcome} {reason or ''}".strip())
    cases = Counter(
        order["case"]
        for order in orders
        if order["case"] and not order["repeat"] and order["expect"] != "repeat"
    )
    twice = sum(1 for n in cases.values() if n > 1)
    if twice:
        problems.append(f"{twice} cases opened by more than one response")
    more_mails = sum(1 for order in orders if order["confirmations"] > 1)
    if more_mails:
        problems.append(f"{more_mails} orders with more than one confirmation")
    resent = sum(
        1
        for order in orders
        if is_automatic(order) and not order["repeat"] and order["sink_deliveries"] != 1
    )
    if resent:
        problems.append(f"{resent} confirmations not delivered exactly once to the relay")
    ordered_partner = {
        order["n"]
        for order in orders
        if order["kind"] == "partner" and (order["expect"] == "ordered") != (order["n"] in swapped)
    }
    commissions = data["commissions"]
    double = [ref for ref, n in commissions.items() if n > 1]
    if double:
        problems.append(f"{len(double)} partner orders with more than one commission")
    expected_commissions = len(ordered_partner)
    if sum(commissions.values()) != expected_commissions:
        problems.append(
            f"{sum(commissions.values())} commissions for {expected_commissions} partner orders"
        )
    if data["jobs_by_status"].get("failed"):
        problems.append(f"{data['jobs_by_status']['failed']} jobs failed")
    return problems


# ---------------------------------------------------------------------------------------
# Scanned letters with OCR, one core


def scans_phase(args: argparse.Namespace, setup: Setup, first_customer: int) -> dict[str, Any]:
    """Real letters of the campaign for `--scans` customers, the card ticked "yes",
    printed and scanned at 300 dpi (the tests' scanner: slight rotation, blur, noise; every
    fourth as JPEG); then, pinned to one CPU, `read_scan()` alone and `receive_scan()` (the
    same reading plus storing the file and `receive()`), each page timed."""
    sys.path.insert(0, str(report.REPO_DIR))
    from tests.retention.printing import Scanner, encode, render_page, scan, tick

    from casework.kernel.actors import Actor
    from casework.retention import campaigns, letters, scanning, scans
    from casework.retention.models import Recipient

    os.environ["OMP_THREAD_LIMIT"] = "1"
    rng = random.Random(args.seed + 77)
    began = time.perf_counter()
    pages = []
    recipients = Recipient.objects.select_related("campaign", "customer", "offer").filter(
        customer_id__gte=first_customer, customer_id__lt=first_customer + args.scans
    )
    for index, recipient in enumerate(recipients.order_by("customer_id")):
        page = render_page(letters.render_letter(campaigns.letter_for(recipient)))
        page = tick(page, "accept", style=rng.choice(("x", "check")), seed=index)
        scanner = Scanner(
            rotate=rng.uniform(-3, 3),
            perspective=rng.uniform(0, 0.008),
            blur=rng.uniform(0, 1.0),
            noise=rng.uniform(3, 12),
            seed=index,
        )
        image_format = "jpeg" if index % 4 == 3 else "png"
        pages.append(
            (
                recipient,
                encode(scan(page, scanner), image_format, dpi=300, quality=70),
                image_format,
            )
        )
    print(f"scans: {len(pages)} letters made in {time.perf_counter() - began:.1f} s (not timed)")
    previous = os.sched_getaffinity(0)
    cpu = min(previous)
    os.sched_setaffinity(0, {cpu})
    actor = Actor.system("mail-room")
    read_seconds, total_seconds, right = [], [], 0
    response_ids = []
    try:
        scanning.read_scan(pages[0][1])  # warm-up: libraries, models in the page cache
        measure.wait_for_quiet(args.quiet_wait)
        with measure.MachineLoad(PG_DATABASE) as load:
            for recipient, data, image_format in pages:
                started = time.perf_counter()
                scanning.read_scan(data)
                read_seconds.append(time.perf_counter() - started)
                started = time.perf_counter()
                results = scans.receive_scan(
                    data, filename=f"karte-{recipient.customer_id}.{image_format}", actor=actor
                )
                total_seconds.append(time.perf_counter() - started)
                response = results[0].response if len(results) == 1 else None
                if response is not None:
                    response_ids.append(response.pk)
                    right += response.outcome == "ordered" and response.recipient_id == recipient.pk
    finally:
        os.sched_setaffinity(0, previous)
    print(f"scans: {load.describe()}")
    return {
        "pages": len(pages),
        "cpu": cpu,
        "read_scan": measure.Latency.of(read_seconds),
        "receive_scan": measure.Latency.of(total_seconds),
        "ordered_right": right,
        "response_ids": response_ids,
        "machine_load": load,
    }


# ---------------------------------------------------------------------------------------
# Profile: statements and time per order, in-process


class StatementTimer(measure.QueryCounter):
    """Counts statements by shape and the time spent in the driver for each."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: Counter[str] = Counter()
        self.total_seconds = 0.0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        shape = measure.statement_shape(sql)
        self.total += 1
        self.shapes[shape] += 1
        self.samples.setdefault(shape, sql)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - started
            self.seconds[shape] += elapsed
            self.total_seconds += elapsed


# Steps of the automatic path, as (module file suffix, function), for the cProfile table.
STEPS = (
    ("in receive() / receive_batch()", None, None),
    ("receive() in all", "retention/responses.py", "receive"),
    ("receive_batch() in all", "retention/responses.py", "receive_batch"),
    ("  read ahead for a chunk", "retention/responses.py", "__init__"),
    ("  code check + recipient lookup (FOR UPDATE)", "retention/responses.py", "_recipient_for"),
    (
        "  checks: used, expiry, eligibility, open orders",
        "retention/responses.py",
        "_order_problem",
    ),
    ("    eligibility rule (customer facts)", "retention/responses.py", "_eligible"),
    ("  open the case (open_case)", "cases/services.py", "open_case"),
    ("    start the process (SLA clocks, advance)", "cases/process.py", "start_process"),
    ("      SLA clocks started", "cases/sla.py", "start_clocks"),
    ("      the straight-through run (advance)", "cases/process.py", "advance"),
    ("        context built (build_context)", "cases/process.py", "build_context"),
    ("        apply-offer step", "retention/actions.py", "apply_offer"),
    ("          contract changed", "offers/services.py", "apply_offer_to_contract"),
    ("          answer recorded for the next-best-offer", "offers/services.py", "record_answer"),
    ("            offer assessed (facts again, model)", "offers/ranking.py", "assess_offer"),
    ("        record-commission: ledger append", "retention/actions.py", "record_commission"),
    ("        completing (_complete)", "cases/process.py", "_complete"),
    ("          resolve_case", "cases/services.py", "resolve_case"),
    ("          SLA clocks stopped", "cases/sla.py", "stop_clocks"),
    ("        jobs enqueued (all callers)", "kernel/jobs.py", "enqueue"),
    ("  inbound interaction recorded", "interactions/services.py", "record_interaction"),
    ("  event chain append (one per transaction)", "events/services.py", "_append_to_chain"),
    ("  customer facts (facts_of, all callers)", "offers/facts.py", "facts_of"),
    ("commits (all transactions)", "db/backends/base/base.py", "_commit"),
    ("in the background worker", None, None),
    ("jobs.run_due()", "kernel/jobs.py", "run_due"),
    ("  leasing jobs (lease_due, own transaction)", "kernel/leases.py", "lease_due"),
    ("  cases.notify: render + queue the e-mail", "cases/notifications.py", "notify_job"),
    ("    send_notification (address, mailbox, _queue)", "email/outbound.py", "send_notification"),
    ("outbound.send_due()", "email/outbound.py", "send_due"),
    ("  compose the message", "email/outbound.py", "compose"),
    ("  deliver over SMTP (one connection per pass)", "email/outbound.py", "send"),
)


def profile_items(first_customer: int, count: int, setup: Setup, rng: random.Random) -> list[dict]:
    items = []
    kinds = [kind for kind, share in MIX for _ in range(round(count * share))]
    rng.shuffle(kinds)
    numbers = counter_from(9_000_000 + first_customer)
    for offset, kind in enumerate(kinds):
        items.append(genuine_item(kind, first_customer + offset, setup, next(numbers), rng))
    return items


class InProcess:
    """Web, letter and phone as the submitters call them; partner orders through Django's
    test client (routing, token authentication, validation, serialising; no HTTP server)."""

    def __init__(self, setup: Setup) -> None:
        from django.test import Client

        from casework.kernel.actors import Actor
        from casework.routing.models import Agent
        from casework.routing.queries import actor_for_agent

        self.queued_kinds = frozenset()  # the profile measures receive() one at a time
        self.client = Client(HTTP_HOST=servers.HOST)
        self.token = setup.partner_token
        self.agent_user_id = setup.agent_user_id
        self.agent_actor = actor_for_agent(Agent.objects.get(user_id=setup.agent_user_id))
        self.customer_actor = Actor.customer

    def handle(self, item: dict[str, Any]) -> None:
        if item["kind"] == "partner":
            body = {"order": item["order"]}
            for key, name in (
                ("code", "response_code"),
                ("customer_number", "customer_number"),
                ("offer", "offer"),
            ):
                if item.get(key):
                    body[name] = item[key]
            answer = self.client.post(
                "/api/v1/partner/orders",
                json.dumps(body),
                content_type="application/json",
                headers={
                    "Authorization": f"Bearer {self.token}",
                    "Idempotency-Key": f"idem-{item['order']}",
                },
            )
            assert answer.status_code == 201, answer.content
            return
        Submitter.handle(self, item)  # type: ignore[arg-type]


def drain_in_process(counter: StatementTimer | None = None) -> tuple[int, int, float, float]:
    """Worker passes in this process until nothing is due: (jobs, mails, seconds in
    run_due, seconds in send_due)."""
    from casework.channels.email import outbound
    from casework.kernel import jobs

    ran = sent = 0
    job_seconds = mail_seconds = 0.0
    context = counter.installed() if counter else contextlib.nullcontext()
    with context:
        while True:
            started = time.perf_counter()
            count = jobs.run_due()
            job_seconds += time.perf_counter() - started
            started = time.perf_counter()
            mails = outbound.send_due()
            mail_seconds += time.perf_counter() - started
            ran += count
            sent += mails
            if not count and not mails:
                return ran, sent, job_seconds, mail_seconds


def profile_phase(args: argparse.Namespace, setup: Setup, first_customer: int) -> dict[str, Any]:
    """In this process, the background workers stopped: (a) `--profile-orders` responses of
    the mix, each with its statements counted and timed, then the worker's passes for them,
    counted; (b) twice as many: `receive()` against `receive_batch()` (`compare_batch`);
    (c) as many as in (a) under cProfile, received as the worker does (`receive_batch()`;
    `--profile-one-at-a-time`: `receive()` each), with the time per step."""
    from casework.kernel import jobs

    jobs._discover_handlers()
    rng = random.Random(args.seed + 99)
    half = args.profile_orders
    items = profile_items(first_customer, half, setup, rng)
    handler = InProcess(setup)
    for item in items[:20]:  # warm-up: first statements, template loading
        handler.handle(item)
    drain_in_process()
    counted = items[20:]
    per_kind: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    shapes = StatementTimer()
    measure.wait_for_quiet(args.quiet_wait)
    for item in counted:
        timer = StatementTimer()
        started = time.perf_counter()
        with timer.installed():
            handler.handle(item)
        elapsed = time.perf_counter() - started
        per_kind[item["kind"]].append((timer.total, elapsed, timer.total_seconds))
        shapes.shapes.update(timer.shapes)
        shapes.seconds.update(timer.seconds)
        shapes.total += timer.total
        shapes.total_seconds += timer.total_seconds
    worker = StatementTimer()
    ran, sent, job_seconds, mail_seconds = drain_in_process(worker)
    n = len(counted)
    used = first_customer + len(items)
    batched = compare_batch(handler, profile_items(used, 2 * half, setup, rng), args)
    used += 2 * half
    profiled = profile_items(used, half, setup, rng)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    if args.profile_one_at_a_time:
        profiler.enable()
        for item in profiled:
            handler.handle(item)
    else:  # as the worker receives the queue: chunks of `receive_batch()`
        from casework.retention import responses

        prepared = [incoming_of(item, handler) for item in profiled]
        started = time.perf_counter()
        profiler.enable()
        responses.receive_batch(prepared)
    drain_in_process()
    profiler.disable()
    profiled_seconds = time.perf_counter() - started
    estimator = estimator_cost()
    stamp = time.strftime("%Y%m%dT%H%M%S")
    report.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = report.RESULTS_DIR / f"retention-pg-{stamp}.prof.txt"
    path.write_text(measure.profile_full(profiler))
    stats = pstats.Stats(profiler)
    steps = []
    for label, suffix, function in STEPS:
        if suffix is None:
            steps.append((label, "", ""))
            continue
        cumulative = sum(
            values[3]
            for (filename, _line, name), values in stats.stats.items()  # type: ignore[attr-defined]
            if name == function and filename.endswith(suffix)
        )
        steps.append((label, 1000 * cumulative / len(profiled), cumulative / profiled_seconds))
    return {
        "orders": n,
        "per_kind": {
            kind: {
                "orders": len(rows),
                "statements": statistics.fmean(row[0] for row in rows),
                "ms": statistics.fmean(row[1] for row in rows) * 1000,
                "sql_ms": statistics.fmean(row[2] for row in rows) * 1000,
            }
            for kind, rows in per_kind.items()
        },
        "receive_statements": shapes.total / n,
        "receive_sql_ms": 1000 * shapes.total_seconds / n,
        "receive_shapes": [
            (shape, count / n, 1000 * shapes.seconds[shape] / n)
            for shape, count in shapes.shapes.most_common(30)
        ],
        "worker_jobs": ran,
        "worker_mails": sent,
        "worker_statements": worker.total / max(sent, 1),
        "worker_sql_ms": 1000 * worker.total_seconds / max(sent, 1),
        "worker_job_ms": 1000 * job_seconds / max(sent, 1),
        "worker_mail_ms": 1000 * mail_seconds / max(sent, 1),
        "worker_shapes": [
            (shape, count / max(sent, 1), 1000 * worker.seconds[shape] / max(sent, 1))
            for shape, count in worker.shapes.most_common(20)
        ],
        "profiled_orders": len(profiled),
        "profiled_ms_per_order": 1000 * profiled_seconds / len(profiled),
        "steps": steps,
        "profile_top": measure.profile_top(profiler, sort="tottime", limit=30),
        "profile_path": str(path.relative_to(report.REPO_DIR)),
        "customers_used": len(items) + 2 * half + len(profiled),
        "estimator": estimator,
        "batch": batched,
    }


def compare_batch(
    handler: InProcess, items: list[dict[str, Any]], args: argparse.Namespace
) -> dict[str, Any]:
    """The same mix (partner orders as the partner API builds them, without HTTP) received
    one at a time with `receive()` and, for as many other customers, with `receive_batch()`
    (`BATCH_CHUNK` responses per transaction), alternating in rounds of one chunk each: time
    and statements per order, the worker's passes not included."""
    from casework.kernel.errors import DomainError
    from casework.retention import responses

    chunk = responses.BATCH_CHUNK
    alone, together = items[: len(items) // 2], items[len(items) // 2 :]
    figures = {"one at a time": [0.0, 0, 0], "receive_batch": [0.0, 0, 0]}
    problems: Counter[str] = Counter()
    batch_shapes = StatementTimer()
    measure.wait_for_quiet(args.quiet_wait)
    for start in range(0, len(alone), chunk):
        for name, part in (("one at a time", alone), ("receive_batch", together)):
            prepared = [incoming_of(item, handler) for item in part[start : start + chunk]]
            timer = StatementTimer()
            began = time.perf_counter()
            with timer.installed():
                if name == "receive_batch":
                    answers = responses.receive_batch(prepared)
                else:
                    answers = [
                        responses.receive(incoming, actor=actor) for incoming, actor in prepared
                    ]
            figures[name][0] += time.perf_counter() - began
            figures[name][1] += timer.total
            figures[name][2] += len(prepared)
            if name == "receive_batch":
                batch_shapes.shapes.update(timer.shapes)
                batch_shapes.seconds.update(timer.seconds)
            for answer in answers:
                if isinstance(answer, DomainError):
                    problems[f"{name}: {answer.code}"] += 1
                elif answer.response.outcome != "ordered":
                    problems[f"{name}: {answer.response.reason}"] += 1
    drain_in_process()
    return {
        "chunk": chunk,
        "ways": {
            name: {
                "orders": count,
                "ms_per_order": 1000 * seconds / max(count, 1),
                "statements_per_order": statements / max(count, 1),
            }
            for name, (seconds, statements, count) in figures.items()
        },
        "not_ordered": dict(problems),
        "shapes": [
            (shape, count / len(together), 1000 * batch_shapes.seconds[shape] / len(together))
            for shape, count in batch_shapes.shapes.most_common(30)
        ],
    }


def estimator_cost() -> dict[str, Any]:
    """`offers.ranking.Estimator.load()`, which every accepted order runs (through
    `record_answer` → `assess_offer`): it counts every offer decision there is."""
    from casework.offers.models import OfferDecision
    from casework.offers.ranking import Estimator

    decisions = OfferDecision.objects.count()
    seconds = []
    for _ in range(20):
        started = time.perf_counter()
        Estimator.load()
        seconds.append(time.perf_counter() - started)
    return {"decisions": decisions, "load": measure.Latency.of(seconds)}


# ---------------------------------------------------------------------------------------
# Ledger verification


def ledger_phase(args: argparse.Namespace) -> dict[str, Any]:
    from django.db import connection

    from casework.partners import ledger_chain
    from casework.partners.services import read_head, verify_ledger

    head_seq, _hash = read_head()
    measure.wait_for_quiet(args.quiet_wait)
    runs = []
    result = None
    with measure.MachineLoad(PG_DATABASE) as load:
        for _ in range(2):
            started = time.perf_counter()
            result = verify_ledger()
            runs.append(time.perf_counter() - started)
    assert result is not None
    # The baseline: the same rows read in the same ranges, nothing computed.
    columns = ", ".join(ledger_chain.FIELDS)
    started = time.perf_counter()
    rows = 0
    with connection.cursor() as cursor:
        for low in range(0, head_seq + 1, 20_000):
            cursor.execute(
                f"SELECT {columns} FROM partners_commissionentry WHERE seq >= %s AND seq < %s "
                "ORDER BY seq",
                [low, low + 20_000],
            )
            rows += len(cursor.fetchall())
    bare = time.perf_counter() - started
    # And the command an operator runs (Django start included in its wall time).
    command = [str(servers.VENV_BIN / "casework"), "ledger", "verify", "-v", "2"]
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ))
    cli_wall = time.perf_counter() - started
    return {
        "entries": result.checked,
        "intact": result.is_intact,
        "problem": "" if result.is_intact else result.problem,
        "seconds": runs,
        "per_million": min(runs) * 1_000_000 / max(result.checked, 1),
        "entries_per_second": result.checked / min(runs),
        "bare_read_seconds": bare,
        "bare_rows": rows,
        "cli_exit": completed.returncode,
        "cli_output": (completed.stdout + completed.stderr).strip()[-300:],
        "cli_wall": cli_wall,
        "machine_load": load,
    }


# ---------------------------------------------------------------------------------------
# Output


def print_phase(title: str, figures: dict[str, Any], phase: dict[str, Any]) -> None:
    rows = [
        ("responses sent", figures["responses"]),
        ("orders confirmed automatically", figures["automatic"]),
        ("first arrival → last confirmation sent, s", figures["wall_seconds"]),
        ("orders/s (automatic, end to end)", figures["orders_per_second"]),
        ("receive() / partner API answered: responses/s", figures["receive_per_second"]),
        ("last confirmation sent after the last response, s", figures["drain_after_submitted"]),
        (
            "peak backlog (sampled every 5 s): jobs due / e-mails waiting",
            "{:,} / {:,}".format(*figures["peak_backlog"]),
        ),
        ("automation rate", f"{figures['automation_rate']:.2%}"),
        (
            "exceptions by reason",
            ", ".join(f"{k} {v}" for k, v in sorted(figures["exceptions_by_reason"].items()))
            or "–",
        ),
    ]
    report.print_table(title, ["what", "figure"], rows)
    latency_rows = [
        ("arrival → confirmation sent", figures["handling"]),
        ("arrival → case resolved", figures["resolved"]),
        ("arrival → receive()/API returned (all)", figures["receive"]),
    ]
    for kind, _share in MIX:
        latency_rows.append(
            (f"  {kind}: arrival → confirmation sent", figures["by_kind"][kind]["handling"])
        )
        latency_rows.append((f"  {kind}: receive()/API", figures["by_kind"][kind]["receive"]))
    report.print_table(
        f"{title}: latency, automatic path, ms",
        ["", "n", "p50", "p95", "p99", "max"],
        [(name, f.n, f.p50, f.p95, f.p99, f.max) for name, f in latency_rows],
    )
    report.print_table(
        f"{title}: the run in tenths (by arrival)",
        ["responses", "n", "received/s", "receive p50 ms", "p95 ms"],
        figures["tenths"],
    )
    cpu = phase["cpu"]
    wall = phase["cpu_wall"]
    report.print_table(
        f"{title}: CPU seconds by process (wall {wall:.0f} s, 2 CPUs = {2 * wall:.0f} CPU-s)",
        ["process", "CPU s", "share of 2 CPUs", "ms per order"],
        [
            (
                role,
                seconds,
                f"{seconds / (2 * wall):.0%}",
                1000 * seconds / max(figures["automatic"], 1),
            )
            for role, seconds in cpu.items()
        ],
    )
    print(f"{title}: {phase['machine_load'].describe()}")


def main() -> None:
    args = parse_args()
    if args.child:
        child_main(args)
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    dataset.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    if args.commit and os.environ.get("CASEWORK_BENCH_SOURCE") is None:
        case_engine.run_at_commit(args.commit)
    place = Place()
    try:
        with smtp_sink() as (sink, smtp_port):
            env = environment(place, smtp_port)
            run(args, place, env, sink)
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if not args.keep:
            place.drop()
            print(f"database {place.url} dropped")


def run(args: argparse.Namespace, place: Place, env: dict[str, str], sink: Sink) -> None:
    migrate_seconds = place.create(env)
    setup_django(env)
    rng = random.Random(args.seed)
    warm = args.submitters * WARM_UP_PER_SUBMITTER
    paced_warm = args.submitters * 4
    # Counted, receive() against receive_batch() (twice as many), profiled.
    profile_customers = 4 * args.profile_orders if args.profile else 0
    customers = warm + args.responses + paced_warm + args.paced + args.scans + profile_customers
    facts = report.machine_facts()
    source = (
        "commit " + os.environ["CASEWORK_BENCH_SOURCE"]
        if "CASEWORK_BENCH_SOURCE" in os.environ
        else "the working tree"
    )
    report.print_header(
        "retention: responses from every channel → straight-through orders → confirmations",
        facts,
        {
            "database": f"{place.url} (fresh, migrated in {migrate_seconds:.1f} s)",
            "source": source,
            "responses": f"{args.responses:,} (web/partner/letter/phone "
            + "/".join(f"{share:.0%}" for _k, share in MIX)
            + f"; forged {args.forged_share:.1%}, second card {args.duplicate_share:.1%}, "
            f"partner resends {args.resend_share:.1%})",
            "processes": f"{args.submitters} submitters, casework serve --workers "
            f"{args.server_workers}, {args.job_workers} background worker(s), SMTP sink",
            "customers": f"{customers:,}, each a campaign recipient, contract ending in "
            f"{CONTRACT_DAYS_LEFT} days",
            "ledger": f"{args.ledger_entries:,} entries before the run",
        },
    )
    began = time.perf_counter()
    setup = setup_all(args, customers)
    print(f"setup: {time.perf_counter() - began:.1f} s (not in the figures)")
    for what, seconds in setup.seconds.items():
        print(f"  {what:<40} {seconds:7.1f} s")

    numbers = counter_from(1)
    warm_up, used = make_plan(
        warm,
        1,
        setup,
        rng,
        forged_share=0,
        duplicate_share=0,
        resend_share=0,
        order_numbers=numbers,
    )
    next_customer = 1 + used
    items, used = make_plan(
        args.responses,
        next_customer,
        setup,
        rng,
        forged_share=args.forged_share,
        duplicate_share=args.duplicate_share,
        resend_share=args.resend_share,
        order_numbers=numbers,
    )
    next_customer += used
    for n, item in enumerate(items):
        item["n"] = n
    planned = Counter(item["kind"] for item in items)
    expected = Counter(item["expect"] for item in items)
    print(
        "plan: "
        + ", ".join(f"{kind} {planned[kind]:,}" for kind, _s in MIX)
        + "; expected: "
        + ", ".join(f"{k} {v:,}" for k, v in expected.most_common())
    )

    log = place.work_dir / "bare"
    bare_before = bare_phase(env, args, customers, log)
    results: dict[str, Any] = {"bare_before": bare_before}
    running = start_services(env, args, sink)
    try:
        print(f"\nthroughput: {len(items):,} responses, {args.submitters} submitters")
        phase = run_submitters(
            env, args, setup, running, items, warm_up, "throughput", sample_locks=True
        )
        data = collect(phase, items, sink)
        figures = figures_of(phase, data)
        problems = problems_of(data)
        print_phase("Throughput (saturated)", figures, phase)
        locks = lock_summary()
        print(f"throughput: {locks['text']}")
        results["throughput"] = {
            "figures": figures,
            "problems": problems,
            "locks": locks,
            "jobs_by_status": data["jobs_by_status"],
            "jobs_by_kind": data["jobs_by_kind"],
            "jobs_retried": data["jobs_retried"],
            "cpu": phase["cpu"],
            "cpu_wall": phase["cpu_wall"],
            "machine_load": phase["machine_load"].figures,
            "mails_at_sink": phase["mails_at_sink"],
        }

        paced_figures = None
        if args.paced:
            rate = max(figures["orders_per_second"] * args.paced_share, 0.5)
            paced_warm_up, used = make_plan(
                paced_warm,
                next_customer,
                setup,
                rng,
                forged_share=0,
                duplicate_share=0,
                resend_share=0,
                order_numbers=numbers,
            )
            next_customer += used
            paced_items, used = make_plan(
                args.paced,
                next_customer,
                setup,
                rng,
                forged_share=0,
                duplicate_share=0,
                resend_share=0,
                order_numbers=numbers,
            )
            next_customer += used
            for n, item in enumerate(paced_items):
                item["n"] = n
                item["at"] = n / rate
            print(
                f"\npaced: {len(paced_items):,} responses arriving at {rate:.1f}/s "
                f"({args.paced_share:.0%} of the measured orders/s), evenly spaced"
            )
            paced_phase = run_submitters(
                env, args, setup, running, paced_items, paced_warm_up, "paced"
            )
            paced_data = collect(paced_phase, paced_items, sink)
            paced_figures = figures_of(paced_phase, paced_data)
            paced_problems = problems_of(paced_data)
            paced_figures["rate"] = rate
            print_phase(f"Paced at {rate:.1f} responses/s", paced_figures, paced_phase)
            problems += [f"paced: {problem}" for problem in paced_problems]
            results["paced"] = {
                "figures": paced_figures,
                "problems": paced_problems,
                "cpu": paced_phase["cpu"],
                "machine_load": paced_phase["machine_load"].figures,
            }

        scan_figures = None
        if args.scans:
            print(f"\nscans: {args.scans} campaign letters, filled in, scanned at 300 dpi")
            scan_figures = scans_phase(args, setup, next_customer)
            next_customer += args.scans
            wait_drained(300)
            scan_ok = scan_confirmations(scan_figures["response_ids"])
            scan_figures["confirmed"] = scan_ok
            report.print_table(
                f"Scanned letters, one CPU (CPU {scan_figures['cpu']}), seconds per page",
                ["", "n", "p50", "p95", "max"],
                [
                    (
                        "read_scan() alone (decode + QR + ticks + remarks)",
                        *latency_seconds(scan_figures["read_scan"]),
                    ),
                    (
                        "receive_scan(): store + read_scan + receive()",
                        *latency_seconds(scan_figures["receive_scan"]),
                    ),
                ],
            )
            print(
                f"scans: {scan_figures['ordered_right']} of {scan_figures['pages']} pages became "
                f"the recipient's order; {scan_ok} confirmations sent"
            )
            if (
                scan_figures["ordered_right"] != scan_figures["pages"]
                or scan_ok != scan_figures["pages"]
            ):
                problems.append(
                    f"scans: {scan_figures['ordered_right']}/{scan_figures['pages']} ordered, "
                    f"{scan_ok} confirmed"
                )
            results["scans"] = {
                key: value.as_dict() if isinstance(value, measure.Latency) else value
                for key, value in scan_figures.items()
                if key not in ("response_ids", "machine_load")
            }
    finally:
        running.workers.stop()
        worker_results = running.workers.results(timeout=120)
        running.workers.__exit__(None, None, None)
        server_exceptions = running.server.logged_exceptions()
        running.server.stop()
    results["background_workers"] = worker_results
    results["server_exceptions"] = dict(server_exceptions)
    if server_exceptions:
        problems.append(f"server log: {sum(server_exceptions.values())} exceptions")
        for line, n in server_exceptions.most_common(3):
            print(f"server log: {n} × {line}")
    print(f"background workers: {worker_results}")

    bare_after = bare_phase(env, args, customers, log)
    results["bare_after"] = bare_after
    bare = (bare_before["per_second"] + bare_after["per_second"]) / 2

    profile = None
    if args.profile:
        print(
            f"\nprofile: {args.profile_orders} orders counted, {args.profile_orders} under "
            "cProfile, in this process"
        )
        profile = profile_phase(args, setup, next_customer)
        next_customer += profile["customers_used"]
        print_profile(profile)
        results["profile"] = profile

    ledger = None
    if args.ledger_entries:
        print("\nledger: verify_ledger() twice, then a bare read of the same rows")
        ledger = ledger_phase(args)
        report.print_table(
            "Ledger verification (partners.services.verify_ledger)",
            ["what", "figure"],
            [
                ("entries verified", ledger["entries"]),
                ("intact", "yes" if ledger["intact"] else f"NO: {ledger['problem']}"),
                ("seconds, first / second run", " / ".join(f"{s:.2f}" for s in ledger["seconds"])),
                ("seconds per 1,000,000 entries (faster run)", ledger["per_million"]),
                ("entries/s", ledger["entries_per_second"]),
                ("bare read of the same rows, s", ledger["bare_read_seconds"]),
                ("verification ÷ bare read", ledger["seconds"][-1] / ledger["bare_read_seconds"]),
                (
                    "`casework ledger verify -v2`, wall (Django start included)",
                    f"{ledger['cli_wall']:.1f} s, exit {ledger['cli_exit']}",
                ),
            ],
        )
        print("casework ledger verify -v2: " + ledger["cli_output"].replace("\n", " | "))
        print(f"ledger: {ledger['machine_load'].describe()}")
        if not ledger["intact"] or ledger["cli_exit"] != 0:
            problems.append(f"ledger not intact: {ledger['problem'] or ledger['cli_output']}")
        results["ledger"] = {k: v for k, v in ledger.items() if k != "machine_load"}

    summarise(
        args,
        facts,
        setup,
        figures,
        paced_figures,
        scan_figures,
        ledger,
        bare,
        bare_before,
        bare_after,
        problems,
        results,
    )


def latency_seconds(figures: measure.Latency) -> tuple[int, float, float, float]:
    return figures.n, figures.p50 / 1000, figures.p95 / 1000, figures.max / 1000


def scan_confirmations(response_ids: list[int]) -> int:
    from casework.channels.email.models import OutboundEmail
    from casework.retention.models import Response

    cases = Response.objects.filter(pk__in=response_ids).values_list("case_id", flat=True)
    return OutboundEmail.objects.filter(
        case_id__in=list(cases), kind=OutboundEmail.Kind.NOTIFICATION, status="sent"
    ).count()


def lock_summary() -> dict[str, Any]:
    samples = LOCK_SAMPLES
    if not samples:
        return {"samples": 0, "text": "no samples of pg_stat_activity"}
    waiting = sum(1 for waiting, _active in samples if waiting)
    mean_active = statistics.fmean(active for _waiting, active in samples)
    queries = "; ".join(f"{n} × {query}" for query, n in LOCK_QUERIES.most_common(3))
    return {
        "samples": len(samples),
        "lock_wait_samples": waiting,
        "mean_busy_connections": round(mean_active, 2),
        "queries": dict(LOCK_QUERIES.most_common(10)),
        "text": f"{len(samples)} samples of pg_stat_activity: a connection waited for a lock in "
        f"{waiting / len(samples):.0%} of them; {mean_active:.2f} connections busy on average"
        f"\n            waiting in: {queries or '–'}",
    }


def print_profile(profile: dict[str, Any]) -> None:
    rows = [
        (
            kind,
            values["orders"],
            values["statements"],
            values["ms"],
            values["sql_ms"],
            values["ms"] - values["sql_ms"],
        )
        for kind, values in profile["per_kind"].items()
    ]
    rows.append(
        (
            "background worker, per confirmation (notify job + send)",
            profile["worker_mails"],
            profile["worker_statements"],
            profile["worker_job_ms"] + profile["worker_mail_ms"],
            profile["worker_sql_ms"],
            profile["worker_job_ms"] + profile["worker_mail_ms"] - profile["worker_sql_ms"],
        )
    )
    report.print_table(
        "Per order, in-process, one at a time (no profiler)",
        ["", "orders", "SQL statements", "ms", "of it in SQL (driver + server)", "rest (Python)"],
        rows,
    )
    print(
        f"worker side per confirmation: run_due {profile['worker_job_ms']:.1f} ms, send_due "
        f"{profile['worker_mail_ms']:.1f} ms"
    )
    batch = profile["batch"]
    alone, together = batch["ways"]["one at a time"], batch["ways"]["receive_batch"]
    report.print_table(
        f"The same mix without HTTP: receive() one at a time against receive_batch() "
        f"({batch['chunk']} per transaction), alternating chunk by chunk",
        ["", "orders", "ms per order", "SQL statements per order"],
        [
            (name, values["orders"], values["ms_per_order"], values["statements_per_order"])
            for name, values in batch["ways"].items()
        ]
        + [
            (
                "receive_batch ÷ one at a time",
                "",
                together["ms_per_order"] / alone["ms_per_order"],
                together["statements_per_order"] / alone["statements_per_order"],
            )
        ],
    )
    if batch["not_ordered"]:
        print(f"not ordered in that comparison: {batch['not_ordered']}")
    report.print_table(
        "SQL statements per response in receive_batch() (all channels, average)",
        ["statement", "per order", "ms per order"],
        batch["shapes"],
    )
    estimator = profile["estimator"]
    print(
        f"Estimator.load() (run by every accepted order): p50 {estimator['load'].p50:.2f} ms "
        f"with {estimator['decisions']:,} offer decisions in the table"
    )
    report.print_table(
        "SQL statements per response in receive() (all channels, average)",
        ["statement", "per order", "ms per order"],
        profile["receive_shapes"][:24],
    )
    report.print_table(
        "SQL statements per confirmation in the background worker",
        ["statement", "per order", "ms per order"],
        profile["worker_shapes"][:14],
    )
    report.print_table(
        f"Time per step, cProfile of {profile['profiled_orders']} orders and their worker passes "
        f"({profile['profiled_ms_per_order']:.1f} ms per order with the profiler on; "
        "inclusive times, so nested rows overlap)",
        ["step", "ms per order", "share"],
        [
            (label, ms, f"{share:.0%}" if share != "" else "")
            for label, ms, share in profile["steps"]
        ],
    )
    print("\nby own time:\n" + profile["profile_top"])
    print(f"\nprofile: full text in {profile['profile_path']}")


def summarise(
    args: argparse.Namespace,
    facts: dict[str, Any],
    setup: Setup,
    figures: dict[str, Any],
    paced: dict[str, Any] | None,
    scans: dict[str, Any] | None,
    ledger: dict[str, Any] | None,
    bare: float,
    bare_before: dict[str, Any],
    bare_after: dict[str, Any],
    problems: list[str],
    results: dict[str, Any],
) -> None:
    summary = [
        (
            "responses (throughput run)",
            f"{figures['responses']:,}, of them "
            f"{figures['automatic']:,} orders confirmed automatically",
        ),
        (
            "throughput, orders/s (end to end, excluding OCR)",
            f"{figures['orders_per_second']:.1f} (receive alone "
            f"{figures['receive_per_second']:.1f} responses/s)",
        ),
        (
            "bare INSERT + UPDATE + COMMIT/s, same processes, before / after",
            f"{bare_before['per_second']:,.0f} / {bare_after['per_second']:,.0f}",
        ),
        ("orders/s ÷ bare transactions/s", f"{figures['orders_per_second'] / bare:.3f}"),
        (
            "orders/s ÷ target 200/s",
            f"{figures['orders_per_second'] / TARGET_ORDERS_PER_SECOND:.3f}",
        ),
        (
            "handling, saturated: p50 / p95 / p99",
            f"{figures['handling'].p50 / 1000:.2f} / {figures['handling'].p95 / 1000:.2f} / "
            f"{figures['handling'].p99 / 1000:.2f} s",
        ),
        (
            "automation rate",
            f"{figures['automation_rate']:.2%} (exceptions: "
            + ", ".join(f"{k} {v}" for k, v in sorted(figures["exceptions_by_reason"].items()))
            + ")",
        ),
    ]
    if paced:
        summary.append(
            (
                f"handling at {paced['rate']:.1f}/s ({args.paced_share:.0%} of capacity): "
                "p50 / p95 / p99",
                f"{paced['handling'].p50 / 1000:.3f} / {paced['handling'].p95 / 1000:.3f} / "
                f"{paced['handling'].p99 / 1000:.3f} s; to resolved p50 "
                f"{paced['resolved'].p50 / 1000:.3f} s",
            )
        )
    if scans:
        summary.append(
            (
                "scanned letter, one CPU: read_scan / receive_scan p50 (p95)",
                f"{scans['read_scan'].p50 / 1000:.2f} ({scans['read_scan'].p95 / 1000:.2f}) / "
                f"{scans['receive_scan'].p50 / 1000:.2f} "
                f"({scans['receive_scan'].p95 / 1000:.2f}) s",
            )
        )
    if ledger:
        summary.append(
            (
                f"ledger verification, {ledger['entries']:,} entries",
                f"{min(ledger['seconds']):.1f} s ({ledger['per_million']:.1f} s per 1M; "
                f"{ledger['seconds'][-1] / ledger['bare_read_seconds']:.1f}× a bare read)",
            )
        )
    print("\n" + "=" * 100)
    report.print_table("retention summary (PostgreSQL)", ["what", "figure"], summary)
    checks = []
    if paced:
        checks.append(
            report.Check(
                "median handling, automatic path (paced run)",
                paced["handling"].p50 / 1000,
                TARGET_MEDIAN_SECONDS,
                "s",
            )
        )
    checks.append(
        report.Check(
            "median handling, automatic path (saturated run)",
            figures["handling"].p50 / 1000,
            TARGET_MEDIAN_SECONDS,
            "s",
        )
    )
    checks.append(
        report.Check(
            "orders/s end to end, excluding OCR",
            figures["orders_per_second"],
            TARGET_ORDERS_PER_SECOND,
            "orders/s",
            at_most=False,
        )
    )
    if scans:
        checks.append(
            report.Check(
                "OCR + code decoding per 300 dpi page, p95, one CPU",
                scans["read_scan"].p95 / 1000,
                TARGET_OCR_SECONDS,
                "s",
            )
        )
    checks.append(
        report.Check("checks: wrong outcomes, doubles, failed jobs", len(problems), 0, "problems")
    )
    report.print_checks(checks)
    if problems:
        print("\nVERIFICATION PROBLEMS:")
        for problem in problems:
            print(f"  {problem}")
    else:
        print(
            "\nverified: every response became what was planned (orders, exceptions with the "
            "right reason, repeated partner orders answered 200 with the first result); one "
            "case per response; one commission per partner order; one confirmation per order, "
            "delivered to the relay once; no job failed; ledger intact"
        )

    def plain(value: Any) -> Any:
        if isinstance(value, measure.Latency):
            return value.as_dict()
        if isinstance(value, measure.MachineLoad):
            return value.figures
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    data = {
        "benchmark": "retention",
        "engine": "pg",
        "facts": facts,
        "args": {k: v for k, v in vars(args).items() if not k.startswith("child")},
        "setup_seconds": setup.seconds,
        "results": plain(results),
        "summary": summary,
        "checks": [check.as_dict() for check in checks],
        "problems": problems,
    }
    report.write_results("retention", "pg", data)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--responses", type=int, default=10_000, help="throughput run (100,000 for ×50)"
    )
    parser.add_argument(
        "--submitters",
        type=int,
        default=4,
        help="processes receiving responses (each one after the other: the arrival rate is "
        "bounded by their number and the phone answers' latency)",
    )
    parser.add_argument("--server-workers", type=int, default=2, help="casework serve --workers")
    parser.add_argument("--job-workers", type=int, default=2, help="background worker processes")
    parser.add_argument(
        "--worker-idle",
        type=float,
        default=0.1,
        help="a background worker's sleep after an empty pass, s",
    )
    parser.add_argument(
        "--paced", type=int, default=1000, help="responses in the paced run (0: none)"
    )
    parser.add_argument(
        "--paced-share",
        type=float,
        default=0.5,
        help="the paced run's arrival rate as a share of the measured orders/s",
    )
    parser.add_argument(
        "--scans", type=int, default=10, help="scanned letters read with OCR (0: none)"
    )
    parser.add_argument(
        "--ledger-entries",
        type=int,
        default=1_000_000,
        help="ledger entries written before the run (0: no ledger phase)",
    )
    parser.add_argument("--bare", type=int, default=10_000, help="bare transactions per baseline")
    parser.add_argument("--forged-share", type=float, default=0.01)
    parser.add_argument("--duplicate-share", type=float, default=0.01)
    parser.add_argument("--resend-share", type=float, default=0.005)
    parser.add_argument(
        "--send-until-empty",
        action="store_true",
        help="experiment: the background workers send every due e-mail in each pass",
    )
    parser.add_argument(
        "--sync-partners",
        action="store_true",
        help="partner orders without Prefer: respond-async (each placed while the shop waits)",
    )
    parser.add_argument("--profile", action="store_true", help="statements, steps and cProfile")
    parser.add_argument("--profile-orders", type=int, default=300)
    parser.add_argument(
        "--profile-one-at-a-time",
        action="store_true",
        help="profile receive() per response instead of the worker's receive_batch()",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=3 * 3600,
        help="at most this long for a run's responses",
    )
    parser.add_argument("--seed", type=int, default=26)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--commit", help="measure this commit's src/ (git archive), not the working tree"
    )
    measure.add_quiet_wait_option(parser)
    parser.add_argument("--child", choices=["submit", "jobs", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--child-index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--plan", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--server-port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--token", default="", help=argparse.SUPPRESS)
    parser.add_argument("--agent-user-id", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--customers", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    main()
