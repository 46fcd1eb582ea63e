"""CSV import of customers and contracts, through `casework import` as an operator runs it.

The fixtures are exports as other systems write them: UTF-8 with commas, UTF-8 with a byte
order mark and semicolons (German Excel), and Windows-1252.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from casework.customers.importing import ProgressBar, parse_amount, parse_date, parse_yes_no
from casework.customers.merging import merge_customers
from casework.customers.models import (
    Consent,
    Contract,
    Customer,
    CustomerIdentifier,
    Interest,
    PaymentMethod,
)
from casework.events.models import Event
from casework.kernel.errors import InvalidInput
from tests.factories import CustomerFactory, IdentifierFactory, ProductFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass(frozen=True)
class Run:
    exit_code: int
    output: str
    error: str


def run_import(kind: str, path: Path, *options: str) -> Run:
    """The command as `casework import KIND FILE` runs it: CommandError carries the exit code."""
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        call_command("import", kind, str(path), *options, stdout=stdout, stderr=stderr)
    except CommandError as error:
        return Run(error.returncode, stdout.getvalue(), str(error))
    return Run(0, stdout.getvalue(), stderr.getvalue())


def fixture(tmp_path: Path, name: str) -> Path:
    """A copy in tmp_path, so the report lands there and not among the fixtures."""
    return Path(shutil.copyfile(FIXTURES / name, tmp_path / name))


def write_csv(tmp_path: Path, text: str, name: str = "import.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def read_report(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


def identifiers_of(customer: Customer) -> set[tuple[str, str]]:
    return set(customer.identifiers.values_list("kind", "value"))


def database_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            Customer,
            CustomerIdentifier,
            PaymentMethod,
            Consent,
            Interest,
            Contract,
            Event,
        )
    }


@pytest.fixture
def products(db):  # noqa: ANN001, ANN201
    return [
        ProductFactory(code="mobil-m", monthly_fee="19.99"),
        ProductFactory(code="roaming-eu", kind="option", monthly_fee="2.99"),
        ProductFactory(code="datenpaket-5", kind="option", monthly_fee="4.99"),
    ]


# --- Customers ----------------------------------------------------------------------------------


def test_good_file_imports_customers_with_normalised_identifiers_payment_and_consent(tmp_path):
    path = fixture(tmp_path, "customers.csv")

    run = run_import("customers", path)

    assert run.exit_code == 0
    assert "imported           4" in run.output
    erika = Customer.objects.get(customer_number="K1001")
    assert (erika.first_name, erika.last_name, erika.salutation) == ("Erika", "Mustermann", "Frau")
    assert erika.birth_date == dt.date(1980, 5, 17)
    assert (erika.street, erika.city, erika.preferred_channel) == (
        "Hauptstraße 1",
        "Berlin",
        "email",
    )
    assert identifiers_of(erika) == {
        ("customer_number", "K1001"),
        ("email", "erika.mustermann@example.de"),
        ("phone", "+49301234567"),
        ("phone", "+491711234567"),
    }
    method = erika.payment_methods.get()
    assert (method.kind, method.iban, method.bic, method.is_default) == (
        "direct_debit",
        "DE89370400440532013000",
        "COBADEFFXXX",
        True,
    )
    consent = erika.consents.get()
    assert (consent.purpose, consent.is_granted, consent.source) == (
        "marketing_email",
        True,
        "import:customers.csv",
    )
    assert set(erika.interests.values_list("tag", flat=True)) == {"sport", "reisen"}

    organisation = Customer.objects.get(customer_number="K1002")
    assert (organisation.kind, organisation.organisation_name) == ("organisation", "Beispiel GmbH")
    assert organisation.payment_methods.get().kind == "bank_transfer"
    assert not organisation.consents.exists()

    joerg = Customer.objects.get(last_name="Schmidt")  # no number in the file: one was given
    assert joerg.customer_number.startswith("K")
    assert (joerg.birth_date, joerg.language) == (dt.date(1975, 1, 31), "en")
    assert joerg.payment_methods.get().paypal_email == "joerg.schmidt@example.com"
    assert joerg.consents.get().is_granted is False

    card = Customer.objects.get(customer_number="K1004")
    assert ("portal_account", "anna.card") in identifiers_of(card)
    assert (card.payment_methods.get().card_brand, card.payment_methods.get().card_last4) == (
        "Visa",
        "4242",
    )

    erika_events = Event.objects.filter(object_type="customer", object_id=erika.pk)
    assert sorted(erika_events.values_list("code", flat=True)) == [
        "customer.created",
        "customer.updated",  # consent
        "customer.updated",  # interest sport
        "customer.updated",  # interest reisen
        "payment_method.added",
    ]
    assert set(Event.objects.values_list("actor_label", flat=True)) == {"system:import"}
    assert read_report(tmp_path / "customers.rejected.csv") == []


def test_importing_the_same_file_again_adds_nothing(tmp_path):
    path = fixture(tmp_path, "customers.csv")
    run_import("customers", path)
    before = database_counts()

    run = run_import("customers", path)

    assert run.exit_code == 0
    assert "imported           0" in run.output
    assert "unchanged          4" in run.output
    assert database_counts() == before


def test_customer_without_number_counts_as_imported_when_an_identifier_knows_them(tmp_path):
    known = IdentifierFactory(kind="email", value="joerg.schmidt@example.com").customer

    run = run_import("customers", fixture(tmp_path, "customers.csv"))

    assert run.exit_code == 0
    assert "unchanged          1" in run.output
    assert not Customer.objects.filter(last_name="Schmidt").exists()
    assert identifiers_of(known) == {("email", "joerg.schmidt@example.com")}


def test_rejected_rows_go_to_the_report_with_reasons_and_leave_nothing_behind(tmp_path):
    IdentifierFactory(kind="email", value="belegt@example.de")
    counts_before = database_counts()

    run = run_import("customers", fixture(tmp_path, "customers_with_errors.csv"))

    assert run.exit_code == 1
    assert "3 of 5 rows rejected" in run.error
    report = read_report(tmp_path / "customers_with_errors.rejected.csv")
    assert [(row["line"], row["customer_number"]) for row in report] == [
        ("3", "K2002"),
        ("4", "K2003"),
        ("5", "K2004"),
    ]
    assert report[0]["iban"] == "DE89370400440532013001"  # the original columns, as written
    # The reasons are the domain errors' messages, led by the column where that helps.
    assert report[0]["reason"].startswith("iban: “DE89370400440532013001”")
    assert "the IBAN check digits are wrong" in report[0]["reason"]
    assert report[1]["reason"] == "phone: “0171 12” is not a valid phone number"
    assert "belegt@example.de belongs to another customer already" in report[2]["reason"]

    imported = set(Customer.objects.values_list("customer_number", flat=True))
    assert {"K2001", "K2005"} <= imported
    assert not imported & {"K2002", "K2003", "K2004"}
    assert not CustomerIdentifier.objects.filter(
        value__in=["ilse@example.de", "otto@example.de", "K2002", "K2003", "K2004"]
    ).exists()
    after = database_counts()
    assert after["Customer"] - counts_before["Customer"] == 2
    assert after["PaymentMethod"] == 1  # only Hans Gut's
    assert after["Consent"] == 1  # Hans Gut's; Berta Belegt's "no" was rolled back
    good_ids = set(
        Customer.objects.filter(customer_number__in=["K2001", "K2005"]).values_list("pk", flat=True)
    )
    assert set(Event.objects.values_list("object_id", flat=True)) == good_ids


def test_rows_whose_identifiers_point_at_two_customers_are_rejected(tmp_path):
    first = IdentifierFactory(kind="email", value="lena@example.de").customer
    second = IdentifierFactory(kind="phone", value="+49301234567").customer
    path = write_csv(tmp_path, "last_name,email,phone\nLena,lena@example.de,030 1234567\n")

    run = run_import("customers", path)

    assert run.exit_code == 1
    (row,) = read_report(tmp_path / "import.rejected.csv")
    assert row["reason"] == (
        "its e-mail addresses and phone numbers belong to different customers: "
        f"{first.customer_number}, {second.customer_number}"
    )


def test_customer_rows_without_any_key_are_rejected_because_a_rerun_would_duplicate_them(tmp_path):
    path = write_csv(tmp_path, "first_name,last_name\nKarl,Ohnenummer\n")

    run = run_import("customers", path)

    assert run.exit_code == 1
    assert not Customer.objects.exists()
    (row,) = read_report(tmp_path / "import.rejected.csv")
    assert row["reason"].startswith("a customer needs a customer_number, email, phone")


def test_lines_with_a_wrong_number_of_fields_are_rejected(tmp_path):
    path = write_csv(
        tmp_path,
        "customer_number,last_name,city\nK1,Kurz\nK2,Lang,Berlin,extra\nK3,Genau,Bonn\n",
    )

    run = run_import("customers", path)

    assert run.exit_code == 1
    assert list(Customer.objects.values_list("customer_number", flat=True)) == ["K3"]
    report = read_report(tmp_path / "import.rejected.csv")
    assert [row["reason"][:40] for row in report] == [
        "the line has 2 fields, the header 3 (a d",
        "the line has 4 fields, the header 3 (a d",
    ]


def test_a_corrected_report_can_be_imported_as_it_is(tmp_path):
    path = write_csv(tmp_path, "customer_number,last_name,birth_date\nK7,Spät,31.02.1980\n")
    run_import("customers", path)
    report = tmp_path / "import.rejected.csv"
    report.write_text(report.read_text(encoding="utf-8").replace("31.02.1980", "28.02.1980"))

    run = run_import("customers", report, "--report", str(tmp_path / "second.csv"))

    assert run.exit_code == 0
    assert Customer.objects.get(customer_number="K7").birth_date == dt.date(1980, 2, 28)
    assert (
        tmp_path / "second.csv"
    ).read_text().strip() == "customer_number,last_name,birth_date,line,reason"


# --- Encodings and German exports ---------------------------------------------------------------


def test_cp1252_file_without_encoding_is_refused_as_a_whole(tmp_path):
    path = fixture(tmp_path, "customers_cp1252.csv")

    run = run_import("customers", path)

    assert run.exit_code == 2
    assert "refused, nothing imported: the file is not valid UTF-8" in run.error
    assert "byte 0xfc at byte offset 63 (line 2, column 8)" in run.error
    assert "--encoding cp1252" in run.error
    assert database_counts() == dict.fromkeys(database_counts(), 0)
    assert not (tmp_path / "customers_cp1252.rejected.csv").exists()


def test_cp1252_file_with_encoding_option_keeps_umlauts(tmp_path):
    run = run_import("customers", fixture(tmp_path, "customers_cp1252.csv"), "--encoding", "cp1252")

    assert run.exit_code == 0
    juergen = Customer.objects.get(customer_number="K3001")
    assert (juergen.first_name, juergen.last_name) == ("Jürgen", "Müller")
    assert (juergen.street, juergen.city) == ("Straße des 17. Juni 1", "Köln")
    assert Customer.objects.get(customer_number="K3002").last_name == "Weiß"


def test_utf8_file_read_as_cp1252_is_refused_rather_than_garbled(tmp_path):
    run = run_import("customers", fixture(tmp_path, "customers_de.csv"), "--encoding", "cp1252")

    assert run.exit_code == 2
    assert "the file is UTF-8, not cp1252" in run.error
    assert not Customer.objects.exists()


def test_german_excel_export_with_semicolons_bom_and_german_dates(tmp_path):
    run = run_import("customers", fixture(tmp_path, "customers_de.csv"))

    assert run.exit_code == 0
    assert "2 rows" in run.output  # the line of empty fields Excel leaves below is no row
    gisela = Customer.objects.get(customer_number="K4001")
    assert (gisela.last_name, gisela.birth_date) == ("Müller", dt.date(1961, 7, 3))
    assert gisela.payment_methods.get().iban == "DE75512108001245126199"
    assert gisela.consents.get().is_granted is False  # "nein"
    bjoern = Customer.objects.get(customer_number="K4002")
    assert (bjoern.last_name, bjoern.birth_date) == ("Schröder", dt.date(1990, 2, 1))
    assert ("phone", "+492223123456") in identifiers_of(bjoern)


# --- Contracts ----------------------------------------------------------------------------------


def test_contracts_import_german_amounts_and_reject_unknown_customers_and_products(
    tmp_path, products
):
    run_import("customers", fixture(tmp_path, "customers_de.csv"))
    path = fixture(tmp_path, "contracts_de.csv")

    run = run_import("contracts", path)

    assert run.exit_code == 1
    first = Contract.objects.get(contract_number="V-4001-1")
    assert first.customer.customer_number == "K4001"
    assert (first.start_date, first.monthly_fee) == (dt.date(2024, 2, 1), Decimal("19.99"))
    assert set(first.options.values_list("code", flat=True)) == {"roaming-eu", "datenpaket-5"}
    ended = Contract.objects.get(contract_number="V-4001-2")
    assert (ended.status, ended.end_date, ended.monthly_fee) == (
        "ended",
        dt.date(2023, 12, 31),
        Decimal("1234.50"),
    )
    defaulted = Contract.objects.get(contract_number="V-4002-1")
    assert (defaulted.status, defaulted.monthly_fee) == ("active", Decimal("19.99"))
    assert Contract.objects.count() == 3
    report = read_report(tmp_path / "contracts_de.rejected.csv", delimiter=";")
    assert [(row["line"], row["reason"]) for row in report] == [
        ("5", "customer_number: customer K9999 does not exist"),
        ("6", "unknown product “festnetz-xl”"),
    ]
    assert report[0]["monthly_fee"] == "9,99"
    assert Event.objects.filter(code="contract.created").count() == 3


def test_importing_contracts_again_adds_nothing(tmp_path, products):
    run_import("customers", fixture(tmp_path, "customers_de.csv"))
    path = fixture(tmp_path, "contracts_de.csv")
    run_import("contracts", path)
    before = database_counts()

    run = run_import("contracts", path)

    assert "unchanged          3" in run.output
    assert database_counts() == before


def test_contract_number_of_another_customer_is_rejected(tmp_path, products):
    CustomerFactory(customer_number="K1")
    CustomerFactory(customer_number="K2")
    header = "customer_number,contract_number,product,start_date\n"
    run_import("contracts", write_csv(tmp_path, header + "K1,V-1,mobil-m,2025-01-01\n"))

    run = run_import("contracts", write_csv(tmp_path, header + "K2,V-1,mobil-m,2025-01-01\n"))

    assert run.exit_code == 1
    (row,) = read_report(tmp_path / "import.rejected.csv")
    assert row["reason"] == "contract_number: contract V-1 exists already for another customer"
    assert Contract.objects.get().customer.customer_number == "K1"


def test_contract_for_a_merged_customer_goes_to_the_survivor(tmp_path, products, system_actor):
    survivor = CustomerFactory(customer_number="K1")
    duplicate = CustomerFactory(customer_number="K2")
    merge_customers(survivor, duplicate, actor=system_actor)
    path = write_csv(
        tmp_path, "customer_number,contract_number,product,start_date\nK2,V-1,mobil-m,2025-01-01\n"
    )

    run = run_import("contracts", path)

    assert run.exit_code == 0
    assert Contract.objects.get(contract_number="V-1").customer == survivor


# --- Files refused as a whole -------------------------------------------------------------------


def test_missing_required_columns_refuse_the_whole_file(tmp_path, products):
    CustomerFactory(customer_number="K1")
    path = write_csv(tmp_path, "customer_number,contract_number,monthly_fee\nK1,V-1,9.99\n")

    run = run_import("contracts", path)

    assert run.exit_code == 2
    assert "missing required columns: product, start_date" in run.error
    assert not Contract.objects.exists()


def test_customers_need_a_last_name_or_organisation_name_column(tmp_path):
    run = run_import("customers", write_csv(tmp_path, "first_name,email\nEva,eva@example.de\n"))

    assert run.exit_code == 2
    assert "missing required columns: last_name or organisation_name" in run.error
    assert not Customer.objects.exists()


def test_unknown_columns_refuse_the_whole_file_naming_them(tmp_path):
    path = write_csv(
        tmp_path, "customer_number,last_name,e_mail,nickname\nK1,Huber,huber@example.de,Hubi\n"
    )

    run = run_import("customers", path)

    assert run.exit_code == 2
    assert "unknown columns: e_mail (did you mean email?), nickname" in run.error
    assert not Customer.objects.exists()
    assert not (tmp_path / "import.rejected.csv").exists()


def test_a_wrong_delimiter_option_is_refused_with_a_hint(tmp_path):
    path = fixture(tmp_path, "customers_de.csv")

    run = run_import("customers", path, "--delimiter", ",")

    assert run.exit_code == 2
    assert "unknown columns: customer_number;salutation;" in run.error
    assert "(is the file separated by “;”? see --delimiter)" in run.error
    assert not Customer.objects.exists()


def test_a_missing_file_is_refused(tmp_path):
    run = run_import("customers", tmp_path / "kunden.csv")

    assert run.exit_code == 2
    assert "cannot read" in run.error and "No such file or directory" in run.error


def test_a_report_that_would_overwrite_the_input_is_refused(tmp_path):
    path = fixture(tmp_path, "customers.csv")
    original = path.read_bytes()

    run = run_import("customers", path, "--report", str(path))

    assert run.exit_code == 2
    assert "the report would overwrite the file being imported" in run.error
    assert path.read_bytes() == original
    assert not Customer.objects.exists()


# --- Values (pure) ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-31", dt.date(2026, 1, 31)),
        ("31.01.2026", dt.date(2026, 1, 31)),
        ("1.2.1990", dt.date(1990, 2, 1)),
    ],
)
def test_dates_in_iso_and_german_spelling(text, expected):
    assert parse_date(text, column="birth_date") == expected


@pytest.mark.parametrize("text", ["31.02.2026", "31.01.26", "2026/01/31", "morgen"])
def test_impossible_and_ambiguous_dates_are_errors_naming_the_column(text):
    with pytest.raises(InvalidInput, match=r"^birth_date: "):
        parse_date(text, column="birth_date")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("19,99", Decimal("19.99")),
        ("19.99", Decimal("19.99")),
        ("20", Decimal("20")),
        ("1.234,50", Decimal("1234.50")),
        ("1,234.50", Decimal("1234.50")),
        ("9,90 €", Decimal("9.90")),
    ],
)
def test_amounts_in_german_and_english_spelling(text, expected):
    assert parse_amount(text, column="monthly_fee") == expected


@pytest.mark.parametrize("text", ["1.234", "1,234", "19,999", "-5", "zwanzig", "1000000"])
def test_ambiguous_or_wrong_amounts_are_errors(text):
    with pytest.raises(InvalidInput, match=r"^monthly_fee: "):
        parse_amount(text, column="monthly_fee")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ja", True),
        ("Yes", True),
        ("1", True),
        ("nein", False),
        ("no", False),
        ("0", False),
        ("", None),
    ],
)
def test_consent_spellings(text, expected):
    assert parse_yes_no(text, column="consent_marketing_email") is expected


def test_consent_spelling_outside_the_list_is_an_error():
    with pytest.raises(InvalidInput, match="“vielleicht” is not one of"):
        parse_yes_no("vielleicht", column="consent_marketing_email")


# --- Progress bar -------------------------------------------------------------------------------


class SteppingClock:
    """Each reading is `step` seconds after the previous one."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_progress_on_a_terminal_is_redrawn_at_most_four_times_a_second():
    written: list[str] = []
    progress = ProgressBar(
        100, write=written.append, is_terminal=True, label="k.csv", clock=SteppingClock(0.01)
    )

    for _ in range(100):
        progress.advance()
    progress.finish()

    redraws = [text for text in written if text.startswith("\r")]
    assert 3 <= len(redraws) <= 5  # one second of rows: every 0.25 s, and the final state
    assert redraws[-1].startswith("\rk.csv 100/100 100% [########################] 99 rows/s")
    assert written[-1] == "\n"


def test_progress_in_a_log_shows_rate_and_time_left_on_separate_lines():
    written: list[str] = []
    progress = ProgressBar(
        1000, write=written.append, is_terminal=False, clock=SteppingClock(0.125), log_seconds=10
    )

    for _ in range(200):
        progress.advance()

    assert written == [
        "80/1,000   8% [##----------------------] 8 rows/s, 0:00:10 elapsed, ETA 0:01:55\n",
        "160/1,000  16% [####--------------------] 8 rows/s, 0:00:20 elapsed, ETA 0:01:45\n",
    ]
