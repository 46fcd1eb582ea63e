"""The benchmark data set: N customers with three identifiers each, built once and reused.

    .venv/bin/python bench/dataset.py [--db sqlite|pg] [--customers N] [--rebuild]

Each customer gets a realistic German name, address and birth date, and three identifiers
stored exactly as `casework.customers.identifiers.normalise` stores them: an e-mail address,
a German mobile number in E.164, and the customer number (K00000001 …, continued by the
product's own `CustomerNumberSequence`). Everything about customer `i` is a pure function of
`i` (`customer_spec`), so a benchmark can pick a random existing customer and know its
identifiers without asking the database.

Rows go in with bulk SQL after `casework migrate` (executemany on SQLite, COPY on
PostgreSQL), in chunks, so memory stays flat; the services would take hours for 1M rows.
Reference data the intake pipeline needs (team, queue, case type, channel defaults, a
resolution code, a product) and one agent with an API token are created through the ORM.

Cache: the base lives in `/tmp/casework-bench/customers-N.sqlite3` or the PostgreSQL database
`casework_bench_N`, with a JSON sidecar (build time, token). It is reused while its customer
count and version match. Benchmarks that write (inbound, view360) work on a copy of the base,
so the base stays pristine and every run starts from the same state.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_DIR = Path(__file__).resolve().parents[1]
VENV_BIN = REPO_DIR / ".venv" / "bin"
CACHE_DIR = Path(os.environ.get("CASEWORK_BENCH_DIR", "/tmp/casework-bench"))
PG_SERVER_URL = os.environ.get("CASEWORK_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
SETTINGS_MODULE = "casework.config.settings.demo"

DEFAULT_CUSTOMERS = 1_000_000
# Bump when the generated data changes shape: a cached base of another version is rebuilt.
DATASET_VERSION = 1
SEED = 20261125
CHUNK = 20_000

AGENT_USERNAME = "bench-agent"
TEAM_CODE = "bench-service"
QUEUE_CODE = "bench-inbox"
CASE_TYPE_CODE = "bench-request"
RESOLUTION_CODE = "answered"
PRODUCT_CODE = "bench-mobil-m"
CHANNELS = ("email", "phone", "chat", "portal", "letter")
CUSTOMER_NUMBER_PREFIX = "K"  # the product's own prefix (customers.services)

# ---------------------------------------------------------------------------------------
# What a customer looks like (pure: no Django, no database)

FEMALE_NAMES = [
    "Anna", "Lena", "Marie", "Sophie", "Emma", "Mia", "Hannah", "Laura", "Julia", "Sarah",
    "Katharina", "Ursula", "Monika", "Petra", "Sabine", "Gisela", "Renate", "Ingrid", "Karin",
    "Brigitte", "Helga", "Elke", "Andrea", "Claudia", "Susanne", "Birgit", "Nicole", "Stefanie",
    "Christina", "Melanie", "Sandra", "Jana", "Lisa", "Lea", "Clara", "Charlotte", "Greta",
    "Ida", "Frieda", "Ella", "Johanna", "Paula", "Emilia", "Özlem", "Aylin", "Elif", "Natalia",
    "Agnieszka", "Olga", "Irina", "Svetlana", "Fatma", "Zeynep", "Chiara", "Giulia", "Ana",
]  # fmt: skip
MALE_NAMES = [
    "Jürgen", "Klaus", "Peter", "Thomas", "Michael", "Andreas", "Stefan", "Markus", "Jan",
    "Lukas", "Felix", "Jonas", "Leon", "Paul", "Ben", "Elias", "Noah", "Tim", "Tobias",
    "Florian", "Sebastian", "Wolfgang", "Dieter", "Günter", "Horst", "Manfred", "Uwe", "Frank",
    "Ralf", "Bernd", "Holger", "Torsten", "Matthias", "Christian", "Alexander", "Daniel",
    "Philipp", "Maximilian", "Moritz", "Finn", "Luca", "Henri", "Anton", "Emil", "Karl",
    "Mehmet", "Mustafa", "Ahmet", "Dragan", "Piotr", "Tomasz", "Sergej", "Dmitri", "Marco",
    "Giuseppe", "José",
]  # fmt: skip
LAST_NAMES = [
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
    "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
    "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt",
    "Werner", "Schmitz", "Krause", "Meier", "Lehmann", "Schmid", "Schulze", "Maier", "Köhler",
    "Herrmann", "König", "Walter", "Mayer", "Huber", "Kaiser", "Fuchs", "Peters", "Lang",
    "Scholz", "Möller", "Weiß", "Jung", "Hahn", "Schubert", "Vogel", "Friedrich", "Keller",
    "Günther", "Frank", "Berger", "Winkler", "Roth", "Beck", "Lorenz", "Baumann", "Franke",
    "Albrecht", "Schuster", "Simon", "Ludwig", "Böhm", "Winter", "Kraus", "Martin", "Schumacher",
    "Krämer", "Vogt", "Stein", "Jäger", "Otto", "Sommer", "Groß", "Seidel", "Heinrich", "Brandt",
    "Haas", "Schreiber", "Graf", "Schulte", "Dietrich", "Ziegler", "Kuhn", "Kühn", "Pohl",
    "Engel", "Horn", "Busch", "Bergmann", "Thomas", "Voigt", "Sauer", "Arnold", "Wolff", "Pfeiffer",
    "Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Öztürk", "Nowak", "Kowalski", "Wiśniewski",
    "Lewandowski", "Popović", "Jovanović", "Ivanov", "Petrov", "Rossi", "Russo", "García",
    "Nguyen", "Papadopoulos", "Hansen", "de Vries", "van der Berg", "von Arnim",
]  # fmt: skip
CITIES = [
    ("Berlin", "10115"), ("Berlin", "10437"), ("Berlin", "12043"), ("Hamburg", "20095"),
    ("Hamburg", "22765"), ("München", "80331"), ("München", "81669"), ("Köln", "50667"),
    ("Köln", "51063"), ("Frankfurt am Main", "60311"), ("Stuttgart", "70173"),
    ("Düsseldorf", "40213"), ("Leipzig", "04109"), ("Dortmund", "44135"), ("Essen", "45127"),
    ("Bremen", "28195"), ("Dresden", "01067"), ("Hannover", "30159"), ("Nürnberg", "90402"),
    ("Duisburg", "47051"), ("Bochum", "44787"), ("Wuppertal", "42103"), ("Bielefeld", "33602"),
    ("Bonn", "53111"), ("Münster", "48143"), ("Mannheim", "68159"), ("Karlsruhe", "76133"),
    ("Augsburg", "86150"), ("Wiesbaden", "65183"), ("Mönchengladbach", "41061"),
    ("Gelsenkirchen", "45879"), ("Aachen", "52062"), ("Braunschweig", "38100"),
    ("Kiel", "24103"), ("Chemnitz", "09111"), ("Halle (Saale)", "06108"),
    ("Magdeburg", "39104"), ("Freiburg im Breisgau", "79098"), ("Krefeld", "47798"),
    ("Mainz", "55116"), ("Lübeck", "23552"), ("Erfurt", "99084"), ("Rostock", "18055"),
    ("Kassel", "34117"), ("Potsdam", "14467"), ("Saarbrücken", "66111"), ("Würzburg", "97070"),
    ("Regensburg", "93047"), ("Göttingen", "37073"), ("Görlitz", "02826"), ("Passau", "94032"),
    ("Bad Tölz", "83646"), ("Husum", "25813"), ("Quedlinburg", "06484"), ("Zwiesel", "94227"),
]  # fmt: skip
STREETS = [
    "Hauptstraße", "Schulstraße", "Gartenstraße", "Bahnhofstraße", "Dorfstraße", "Bergstraße",
    "Birkenweg", "Lindenstraße", "Kirchstraße", "Waldstraße", "Ringstraße", "Schillerstraße",
    "Goethestraße", "Am Markt", "Mühlenweg", "Friedrichstraße", "Rosenstraße", "Königsallee",
    "Jahnstraße", "Wiesenweg", "Eichendorffstraße", "Am Sportplatz", "Feldstraße", "Poststraße",
    "Beethovenstraße", "Parkstraße", "Blumenstraße", "Talstraße", "Uhlandstraße", "Kantstraße",
]  # fmt: skip
COMPANY_FORMS = ["GmbH", "GmbH & Co. KG", "AG", "e.K.", "UG (haftungsbeschränkt)", "OHG", "KG"]
COMPANY_TRADES = ["Bau", "Elektro", "Logistik", "Immobilien", "Haustechnik", "Consulting", "Druck"]
# Domains of existing customers' addresses; unknown senders use UNKNOWN_DOMAINS only.
EMAIL_DOMAINS = [
    "gmx.de", "web.de", "t-online.de", "gmail.com", "outlook.de", "yahoo.de", "posteo.de",
    "mailbox.org", "freenet.de", "icloud.com", "gmx.net", "aol.com", "hotmail.de", "arcor.de",
]  # fmt: skip
UNKNOWN_DOMAINS = ["proton.me", "online.de", "email.de", "vodafonemail.de"]
# German mobile prefixes (without the trunk 0): 015xx take 7 subscriber digits, 016x/017x too.
MOBILE_PREFIXES = [
    "1511", "1512", "1514", "1515", "1516", "1517", "1520", "1521", "1522", "1523", "1525",
    "1570", "1573", "1575", "1577", "1578", "1590", "160", "162", "163", "170", "171", "172",
    "173", "174", "175", "177", "178", "179",
]  # fmt: skip
# Never used by the data set: senders the benchmarks invent are guaranteed to be unknown.
UNKNOWN_MOBILE_PREFIXES = ["176", "1526", "1529"]
SUBSCRIBER_SPACE = 10**7
_MASK64 = (1 << 64) - 1
_TRANSLITERATION = str.maketrans(
    {
        "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "ı": "i", "ş": "s", "ç": "c",
        "ğ": "g", "ś": "s", "ń": "n", "ł": "l", "ó": "o", "ż": "z", "ć": "c", "í": "i", "á": "a",
        " ": "", "(": "", ")": "", "&": "", ".": "",
    }
)  # fmt: skip
# Fixed, so every build of the same version has the same rows.
EPOCH = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def _mix(value: int) -> int:
    """splitmix64: a well-spread 64-bit hash of an int."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


def slug(text: str) -> str:
    return text.casefold().translate(_TRANSLITERATION)


@dataclass(frozen=True)
class CustomerSpec:
    """Everything about generated customer `index` (1-based; equal to its primary key)."""

    index: int
    kind: str
    customer_number: str
    salutation: str
    first_name: str
    last_name: str
    organisation_name: str
    birth_date: date | None
    street: str
    postal_code: str
    city: str
    language: str
    preferred_channel: str
    email: str  # normalised, as stored
    email_raw: str  # as the customer wrote it
    phone: str  # E.164, as stored
    phone_raw: str  # national spelling
    created_at: datetime

    @property
    def display_name(self) -> str:
        if self.kind == "organisation":
            return self.organisation_name
        return f"{self.first_name} {self.last_name}"


def mobile_number(index: int, prefixes: list[str] = MOBILE_PREFIXES) -> tuple[str, str]:
    """(E.164, national spelling); distinct for distinct indexes below
    len(prefixes) × 10^7."""
    # Multiplying by a prime modulo the number space is a bijection: neighbours in the
    # data set get unrelated numbers, and no two indexes share one.
    scrambled = index * 1_000_003 % (len(prefixes) * SUBSCRIBER_SPACE)
    prefix = prefixes[scrambled % len(prefixes)]
    digits = f"{scrambled // len(prefixes):07d}"
    spelling = _mix(index) % 3
    if spelling == 0:
        raw = f"0{prefix} {digits}"
    elif spelling == 1:
        raw = f"+49 {prefix} {digits[:3]} {digits[3:]}"
    else:
        raw = f"0{prefix}/{digits}"
    return f"+49{prefix}{digits}", raw


def customer_spec(index: int) -> CustomerSpec:
    h = _mix(index ^ SEED)
    pick, h = h % 1000, h // 1000
    is_organisation = pick < 40
    is_female = (h & 1) == 0
    h >>= 1
    first_names = FEMALE_NAMES if is_female else MALE_NAMES
    first, h = first_names[h % len(first_names)], h // len(first_names)
    last, h = LAST_NAMES[h % len(LAST_NAMES)], h // len(LAST_NAMES)
    city, postal_code = CITIES[h % len(CITIES)]
    h //= len(CITIES)
    street = f"{STREETS[h % len(STREETS)]} {h // len(STREETS) % 140 + 1}"
    h //= len(STREETS) * 140
    domain, h = EMAIL_DOMAINS[h % len(EMAIL_DOMAINS)], h // len(EMAIL_DOMAINS)
    pattern, h = h % 4, h // 4
    h2 = _mix(h ^ index)
    # Every local part is <digit-free prefix><index>, so addresses never collide.
    if is_organisation:
        trade = COMPANY_TRADES[h2 % len(COMPANY_TRADES)]
        form = COMPANY_FORMS[h2 // 7 % len(COMPANY_FORMS)]
        organisation = f"{last} {trade} {form}"
        email_raw = f"info.{slug(last)}{index}@{slug(last)}-{slug(trade)}.de"
        salutation, first, last, birth = "Firma", "", "", None
    else:
        organisation = ""
        if pattern == 0:
            local = f"{first}.{last}{index}"
        elif pattern == 1:
            local = f"{first[0]}.{last}.{index}"
        elif pattern == 2:
            local = f"{last}.{first}{index}"
        else:
            local = f"{first}{last}{index}"
        local = ".".join(slug(part).capitalize() for part in local.split("."))
        email_raw = f"{local}@{domain.upper() if pattern == 3 else domain}"
        salutation = ("Frau" if is_female else "Herr") if h2 % 50 else ""
        birth = date(1935, 1, 1) + timedelta(days=h2 // 50 % 26_000)
    phone, phone_raw = mobile_number(index)
    channel_pick = h2 // 5_000_000 % 20
    preferred = ["", "", "", "email", "email", "email", "phone", "phone", "letter", "portal"]
    return CustomerSpec(
        index=index,
        kind="organisation" if is_organisation else "person",
        customer_number=f"{CUSTOMER_NUMBER_PREFIX}{index:08d}",
        salutation=salutation,
        first_name=first,
        last_name=last,
        organisation_name=organisation,
        birth_date=birth,
        street=street,
        postal_code=postal_code,
        city=city,
        language="en" if h2 % 17 == 0 else "de",
        preferred_channel=preferred[channel_pick % len(preferred)],
        email=email_raw.lower(),
        email_raw=email_raw,
        phone=phone,
        phone_raw=phone_raw,
        created_at=EPOCH - timedelta(seconds=h2 % (12 * 365 * 86_400)),
    )


# ---------------------------------------------------------------------------------------
# Where a data set lives


@dataclass(frozen=True)
class Target:
    """A database holding a data set: the cached base, or a benchmark's working copy."""

    engine: str  # "sqlite" or "pg"
    customers: int
    copy: str = ""  # "" for the base; else the benchmark's name

    @property
    def name(self) -> str:
        suffix = f"-{self.copy}" if self.copy else ""
        if self.engine == "sqlite":
            return f"customers-{self.customers}{suffix}"
        return f"casework_bench_{self.customers}{suffix.replace('-', '_')}"

    @property
    def sqlite_path(self) -> Path:
        return CACHE_DIR / f"{self.name}.sqlite3"

    @property
    def url(self) -> str:
        if self.engine == "sqlite":
            return f"sqlite:///{self.sqlite_path}"
        return f"{PG_SERVER_URL}/{self.name}"

    @property
    def meta_path(self) -> Path:
        return CACHE_DIR / f"{self.engine}-{self.name}.json"


def _pg_admin(statement: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER_URL}/postgres", autocommit=True) as conn:
        conn.execute(statement)


def count_customers(target: Target) -> int | None:
    """The number of customers in the target, None if it does not exist (or has no schema)."""
    try:
        if target.engine == "sqlite":
            if not target.sqlite_path.exists():
                return None
            with sqlite3.connect(f"file:{target.sqlite_path}?mode=ro", uri=True) as conn:
                return conn.execute("SELECT count(*) FROM customers_customer").fetchone()[0]
        import psycopg

        with psycopg.connect(target.url, connect_timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM customers_customer").fetchone()[0]
    except (sqlite3.Error, ImportError, OSError) as error:
        print(f"  ({target.name}: {error})")
        return None
    except Exception as error:  # psycopg errors: database missing, table missing
        if type(error).__module__.startswith("psycopg"):
            return None
        raise


def read_meta(target: Target) -> dict[str, Any] | None:
    try:
        return json.loads(target.meta_path.read_text())
    except (OSError, ValueError):
        return None


def drop(target: Target) -> None:
    if target.engine == "sqlite":
        queue = target.sqlite_path.with_name(f"{target.name}-queue.sqlite3")  # the intake queue
        for path in (target.sqlite_path, queue):
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        _pg_admin(f'DROP DATABASE IF EXISTS "{target.name}" WITH (FORCE)')


def clone(base: Target, copy: Target) -> float:
    """A working copy of the base; returns the seconds it took."""
    started = time.perf_counter()
    drop(copy)
    if base.engine == "sqlite":
        with sqlite3.connect(base.sqlite_path) as conn:  # fold any WAL into the main file
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copyfile(base.sqlite_path, copy.sqlite_path)
    else:
        _pg_admin(f'CREATE DATABASE "{copy.name}" TEMPLATE "{base.name}" STRATEGY FILE_COPY')
    return time.perf_counter() - started


@dataclass(frozen=True)
class Dataset:
    target: Target
    base: Target
    meta: dict[str, Any]
    clone_seconds: float | None

    @property
    def customers(self) -> int:
        return self.base.customers

    @property
    def token(self) -> str:
        return str(self.meta["token"])

    @property
    def url(self) -> str:
        return self.target.url


def prepare(engine: str, customers: int, *, rebuild: bool = False, copy: str = "") -> Dataset:
    """Make sure the base exists (building it in a child process if not), optionally copy
    it for a benchmark that writes, then point Django at it and set Django up.

    Must run before anything imports Django models."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    base = Target(engine, customers)
    meta = read_meta(base)
    fresh = (
        not rebuild
        and meta is not None
        and meta.get("version") == DATASET_VERSION
        and count_customers(base) == customers
    )
    if not fresh:
        command = [sys.executable, str(Path(__file__).resolve()), "--db", engine]
        command += ["--customers", str(customers)] + (["--rebuild"] if rebuild else [])
        subprocess.run(command, check=True)
        meta = read_meta(base)
        if meta is None:
            raise SystemExit(f"building {base.name} wrote no {base.meta_path}")
    else:
        print(
            f"data set: reusing {base.name} ({customers:,} customers, built {meta['built_at']}"
            f" in {meta['build_seconds']:.0f} s)"
        )
    assert meta is not None
    migrate(base)
    target, clone_seconds = base, None
    if copy:
        target = Target(engine, customers, copy)
        clone_seconds = clone(base, target)
        print(f"data set: working copy {target.name} made in {clone_seconds:.1f} s")
        migrate(target)  # on SQLite: the copy's own (empty) intake queue file
    setup_django(target)
    return Dataset(target, base, meta, clone_seconds)


def migrate(target: Target) -> None:
    """Apply migrations added since the base was built (a no-op, about a second, if none)."""
    command = [str(VENV_BIN / "casework"), "migrate", "-v", "0"]
    subprocess.run(command, env=server_environment(target), check=True)


def setup_django(target: Target) -> None:
    os.environ["CASEWORK_DATABASE_URL"] = target.url
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    os.environ.setdefault("CASEWORK_LOG_LEVEL", "WARNING")
    import django

    django.setup()


def server_environment(target: Target) -> dict[str, str]:
    """The environment for `casework …` child processes on this data set."""
    env = dict(os.environ)
    env["CASEWORK_DATABASE_URL"] = target.url
    env["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    env.setdefault("CASEWORK_LOG_LEVEL", "WARNING")
    return env


# ---------------------------------------------------------------------------------------
# Building the base (runs in its own process: Django is set up for the base)


def _chunks(total: int, size: int) -> Iterator[range]:
    for start in range(1, total + 1, size):
        yield range(start, min(start + size, total + 1))


CUSTOMER_COLUMNS = (
    "id", "created_at", "updated_at", "kind", "customer_number", "salutation", "first_name",
    "last_name", "organisation_name", "birth_date", "street", "postal_code", "city", "country",
    "language", "preferred_channel", "search_name", "merged_into_id", "is_provisional",
    "segment",
)  # fmt: skip
IDENTIFIER_COLUMNS = ("id", "kind", "value", "raw_value", "created_at", "customer_id")


def _rows(indexes: range) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    from casework.customers.models import build_search_name

    customers, identifiers = [], []
    for index in indexes:
        spec = customer_spec(index)
        customers.append(
            (
                index, spec.created_at, spec.created_at, spec.kind, spec.customer_number,
                spec.salutation, spec.first_name, spec.last_name, spec.organisation_name,
                spec.birth_date, spec.street, spec.postal_code, spec.city, "DE", spec.language,
                spec.preferred_channel,
                build_search_name(spec.first_name, spec.last_name, spec.organisation_name),
                None, False, "",
            )
        )  # fmt: skip
        first_id = 3 * (index - 1)
        identifiers += [
            (first_id + 1, "email", spec.email, spec.email_raw, spec.created_at, index),
            (first_id + 2, "phone", spec.phone, spec.phone_raw, spec.created_at, index),
            (
                first_id + 3, "customer_number", spec.customer_number, spec.customer_number,
                spec.created_at, index,
            ),
        ]  # fmt: skip
    return customers, identifiers


def _check_normalised(indexes: range) -> None:
    """The stored values must be what the product's own normalising makes of the raw ones."""
    from casework.customers.identifiers import normalise

    for index in indexes[:: max(1, len(indexes) // 50)]:
        spec = customer_spec(index)
        for kind, raw, stored in (
            ("email", spec.email_raw, spec.email),
            ("phone", spec.phone_raw, spec.phone),
            ("customer_number", spec.customer_number, spec.customer_number),
        ):
            if normalise(kind, raw).value != stored:
                raise SystemExit(f"customer {index}: {kind} {raw!r} does not normalise to {stored}")


def _insert_sqlite(customers: list[tuple[Any, ...]], identifiers: list[tuple[Any, ...]]) -> None:
    from django.db import connection, transaction

    ops = connection.ops

    def adapt(row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(
            ops.adapt_datetimefield_value(value)
            if isinstance(value, datetime)
            else ops.adapt_datefield_value(value)
            if isinstance(value, date)
            else value
            for value in row
        )

    with transaction.atomic(), connection.cursor() as cursor:
        for table, columns, rows in (
            ("customers_customer", CUSTOMER_COLUMNS, customers),
            ("customers_customeridentifier", IDENTIFIER_COLUMNS, identifiers),
        ):
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})",
                [adapt(row) for row in rows],
            )


def _insert_pg(customers: list[tuple[Any, ...]], identifiers: list[tuple[Any, ...]]) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        for table, columns, rows in (
            ("customers_customer", CUSTOMER_COLUMNS, customers),
            ("customers_customeridentifier", IDENTIFIER_COLUMNS, identifiers),
        ):
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)


def load_customers(engine: str, total: int, progress: Callable[[str], None] = print) -> float:
    from django.db import connection

    started = time.perf_counter()
    if engine == "sqlite":
        with connection.cursor() as cursor:
            # Build-time only: no crash safety needed, and a big page cache for the indexes.
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-1048576")
    insert = _insert_sqlite if engine == "sqlite" else _insert_pg
    done, next_report = 0, total // 10
    for indexes in _chunks(total, CHUNK):
        _check_normalised(indexes)
        insert(*_rows(indexes))
        done += len(indexes)
        if done >= next_report or done == total:
            elapsed = time.perf_counter() - started
            progress(f"  {done:>10,} customers  {elapsed:6.0f} s  ({done / elapsed:,.0f}/s)")
            next_report += total // 10
    with connection.cursor() as cursor:
        if engine == "pg":
            for table in ("customers_customer", "customers_customeridentifier"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            # What autovacuum would do soon anyway; done now so every run sees the same plans.
            cursor.execute("VACUUM ANALYZE customers_customer")
            cursor.execute("VACUUM ANALYZE customers_customeridentifier")
        else:
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return time.perf_counter() - started


def seed_reference_data(customers: int) -> str:
    """Team, queue, case type, channel defaults, resolution code, product, the agent and its
    token (returned). The customer-number sequence continues after the generated ones."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from casework.api.tokens import create_token
    from casework.cases.models import CaseType, ResolutionCode
    from casework.customers.models import CustomerNumberSequence, Product
    from casework.intake.models import ChannelDefault
    from casework.routing.models import Agent, Queue, Team

    with transaction.atomic():
        team, _ = Team.objects.get_or_create(
            code=TEAM_CODE, defaults={"name_de": "Kundenservice", "name_en": "Customer service"}
        )
        queue, _ = Queue.objects.get_or_create(
            code=QUEUE_CODE, defaults={"name_de": "Eingang", "name_en": "Inbox", "team": team}
        )
        case_type, _ = CaseType.objects.get_or_create(
            code=CASE_TYPE_CODE,
            defaults={"name_de": "Anliegen", "name_en": "Request", "default_queue": queue},
        )
        for channel in CHANNELS:
            ChannelDefault.objects.get_or_create(channel=channel, defaults={"case_type": case_type})
        ResolutionCode.objects.get_or_create(
            code=RESOLUTION_CODE, defaults={"name_de": "Beantwortet", "name_en": "Answered"}
        )
        Product.objects.get_or_create(
            code=PRODUCT_CODE,
            defaults={"kind": "tariff", "name_de": "Mobil M", "name_en": "Mobile M",
                      "monthly_fee": "19.99"},
        )  # fmt: skip
        CustomerNumberSequence.objects.update_or_create(
            prefix=CUSTOMER_NUMBER_PREFIX, defaults={"last_number": customers}
        )
        user, _ = get_user_model().objects.get_or_create(
            username=AGENT_USERNAME,
            defaults={"first_name": "Bea", "last_name": "Benchmark",
                      "email": "bench-agent@casework.test"},
        )  # fmt: skip
        agent, _ = Agent.objects.get_or_create(user=user, defaults={"role": "agent"})
        agent.teams.add(team)
    return create_token(AGENT_USERNAME, description="benchmarks")


def build(engine: str, customers: int, *, rebuild: bool) -> None:
    base = Target(engine, customers)
    meta = read_meta(base)
    count = count_customers(base)
    if not rebuild and count == customers and meta and meta.get("version") == DATASET_VERSION:
        print(f"data set: {base.name} is up to date ({customers:,} customers)")
        return
    started = time.perf_counter()
    if not rebuild and count == customers:
        # Rows are there but the sidecar is lost or old: reseed, no need to reload.
        print(f"data set: {base.name} has its customers; refreshing reference data")
        setup_django(base)
        load_seconds = 0.0
    else:
        print(f"data set: building {base.name} with {customers:,} customers ({engine})")
        base.meta_path.unlink(missing_ok=True)
        drop(base)
        if engine == "pg":
            _pg_admin(f'CREATE DATABASE "{base.name}"')
        migrate(base)
        print(f"  schema migrated ({time.perf_counter() - started:.1f} s)")
        setup_django(base)
        load_seconds = load_customers(engine, customers)
    token = seed_reference_data(customers)
    build_seconds = time.perf_counter() - started
    size = base.sqlite_path.stat().st_size if engine == "sqlite" else _pg_size(base)
    meta = {
        "version": DATASET_VERSION,
        "engine": engine,
        "customers": customers,
        "identifiers": 3 * customers,
        "database": base.name,
        "url": base.url,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_seconds": round(build_seconds, 1),
        "load_seconds": round(load_seconds, 1),
        "size_bytes": size,
        "agent_username": AGENT_USERNAME,
        "token": token,
    }
    base.meta_path.write_text(json.dumps(meta, indent=2))
    print(
        f"data set: {base.name} built in {build_seconds:.1f} s (bulk load {load_seconds:.1f} s,"
        f" {size / 2**20:,.0f} MiB)"
    )


def _pg_size(target: Target) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        return int(cursor.fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS)
    parser.add_argument("--rebuild", action="store_true", help="build even if a cache exists")
    args = parser.parse_args()
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    build(args.db, args.customers, rebuild=args.rebuild)


if __name__ == "__main__":
    main()
