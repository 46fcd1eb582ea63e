"""Importing customers and contracts from CSV files: other systems' exports, Excel sheets.

A file is checked as a whole before any row is imported: its encoding, its delimiter and its
header. A file that fails these checks is refused (`FileRefused`) and nothing is written.
After that, every row is imported in its own transaction through the customer services, so a
row arrives complete with its events or not at all; a row that fails goes to the report file
with its line number and the reason, and the next row goes on.

Importing a file twice adds nothing: a row whose key exists already (the customer number,
the contract number, or for customers without a number one of their e-mail addresses and
phone numbers) counts as unchanged. Existing customers and contracts are never updated.

docs/import.md describes the columns, the report and the exit codes for operators.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from django.db import models, transaction
from django.utils.translation import gettext as _

from casework.customers.iban import InvalidIban
from casework.customers.identifiers import (
    Identifier,
    IdentifierKind,
    InvalidIdentifier,
    normalise,
)
from casework.customers.matching import MatchOutcome, identify
from casework.customers.models import (
    Consent,
    Contract,
    ContractStatus,
    Customer,
    CustomerKind,
    PaymentMethod,
)
from casework.customers.services import (
    NewContract,
    NewCustomer,
    NewPaymentMethod,
    RawIdentifier,
    add_contract,
    add_payment_method,
    create_customer,
    record_consent,
    record_interest,
    validate_new_customer,
    validate_payment_method,
)
from casework.kernel.actors import Actor
from casework.kernel.errors import DomainError, InvalidInput


class ImportKind(StrEnum):
    CUSTOMERS = "customers"
    CONTRACTS = "contracts"


class RowOutcome(StrEnum):
    IMPORTED = "imported"
    UNCHANGED = "unchanged"  # its key exists already: imported by an earlier run
    REJECTED = "rejected"


class FileRefused(InvalidInput):
    """The file as a whole cannot be imported; no row has been touched."""

    code = "import_file_refused"


CUSTOMER_COLUMNS = (
    "customer_number", "kind", "salutation", "first_name", "last_name", "organisation_name",
    "birth_date", "street", "postal_code", "city", "country", "language", "preferred_channel",
    "email", "phone", "mobile", "portal_account",
    "payment_method", "iban", "bic", "account_holder", "card_brand", "card_last4", "paypal_email",
    "consent_marketing_email", "interests",
)  # fmt: skip
CONTRACT_COLUMNS = (
    "customer_number", "contract_number", "product", "options", "status", "start_date",
    "end_date", "monthly_fee",
)  # fmt: skip
REQUIRED_CONTRACT_COLUMNS = ("customer_number", "contract_number", "product", "start_date")
# The columns the report adds. A corrected report can be imported as it is; they are ignored.
REPORT_COLUMNS = ("line", "reason")

COLUMNS = {ImportKind.CUSTOMERS: CUSTOMER_COLUMNS, ImportKind.CONTRACTS: CONTRACT_COLUMNS}
DELIMITERS = (";", ",")
ACTOR = Actor.system("import")


# --- Reading the file: everything that can refuse it happens before the first row ------------


@dataclass(frozen=True)
class SourceRow:
    """One data record of the file: where it starts and its fields as written."""

    line: int
    fields: tuple[str, ...]


@dataclass(frozen=True)
class ImportFile:
    """A decoded CSV file whose header has been checked."""

    kind: ImportKind
    path: Path
    text: str
    encoding: str  # the Python codec name it was decoded with
    has_bom: bool
    delimiter: str
    header: tuple[str, ...]  # as written, for the report
    names: tuple[str, ...]  # the header normalised: what the columns mean
    row_count: int  # data rows, not counting the header and blank lines

    def rows(self) -> Iterator[SourceRow]:
        records = _records(self.text, self.delimiter)
        next(records)  # the header
        for line, fields in records:
            yield SourceRow(line, tuple(fields))


def read_import_file(
    kind: ImportKind | str,
    path: Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> ImportFile:
    """Decode and check the file. Raises FileRefused naming what is wrong and where."""
    kind = ImportKind(kind)
    if delimiter is not None and delimiter not in DELIMITERS:
        raise FileRefused(
            _("the delimiter must be “;” or “,”, not “%(delimiter)s”") % {"delimiter": delimiter}
        )
    try:
        data = path.read_bytes()
    except OSError as error:
        raise FileRefused(
            _("cannot read %(path)s: %(reason)s") % {"path": path, "reason": error.strerror}
        ) from error
    text, codec, has_bom = decode(data, encoding)
    header_line = next((line for line in io.StringIO(text) if line.strip()), "")
    if delimiter is None:
        delimiter = detect_delimiter(header_line)
    records = _records(text, delimiter)
    try:
        first = next(records, None)
        if first is None:
            raise FileRefused(_("the file is empty: it needs a header line naming the columns"))
        header = tuple(first[1])
        names = tuple(_column_name(column) for column in header)
        check_columns(kind, names, delimiter=delimiter)
        row_count = sum(1 for _record in records)
    except csv.Error as error:
        raise FileRefused(
            _("the file is not readable as CSV: %(reason)s") % {"reason": error}
        ) from error
    return ImportFile(
        kind=kind,
        path=path,
        text=text,
        encoding=codec,
        has_bom=has_bom,
        delimiter=delimiter,
        header=header,
        names=names,
        row_count=row_count,
    )


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str, bool]:
    """The text, the codec used and whether a UTF-8 byte order mark was there.

    Without an encoding the file must be UTF-8: guessing would turn "Müller" into "MÃ¼ller"
    or worse without anyone noticing, so we stop and name the first byte that does not fit.
    """
    try:
        codec = codecs.lookup(encoding or "utf-8").name
    except LookupError as error:
        raise FileRefused(
            _("unknown encoding “%(encoding)s” (try utf-8, cp1252 or latin-1)")
            % {"encoding": encoding}
        ) from error
    has_bom = data.startswith(codecs.BOM_UTF8)
    if codec == "utf-8":
        try:
            return data.decode("utf-8-sig"), codec, has_bom
        except UnicodeDecodeError as error:
            raise FileRefused(
                _(
                    "the file is not valid UTF-8: %(where)s. It was probably saved as "
                    "Windows-1252 (Excel, older German systems); run again with "
                    "--encoding cp1252 (or --encoding latin-1)"
                )
                % {"where": _where(data, error)},
                offset=error.start,
            ) from error
    if has_bom or _is_utf8_with_umlauts(data):
        # Decoding UTF-8 as cp1252 succeeds and garbles every umlaut, so refuse it.
        raise FileRefused(
            _(
                "the file is UTF-8, not %(encoding)s: decoding it as %(encoding)s would garble "
                "every non-ASCII character; run again without --encoding"
            )
            % {"encoding": encoding}
        )
    try:
        return data.decode(codec), codec, False
    except UnicodeDecodeError as error:
        raise FileRefused(
            _("the file is not valid %(encoding)s: %(where)s")
            % {"encoding": encoding, "where": _where(data, error)},
            offset=error.start,
        ) from error


def _where(data: bytes, error: UnicodeDecodeError) -> str:
    line_start = data.rfind(b"\n", 0, error.start) + 1
    line = data.count(b"\n", 0, error.start) + 1
    line_end = data.find(b"\n", error.start)
    context = data[line_start : line_end if line_end >= 0 else len(data)]
    shown = context.decode("utf-8", errors="replace").strip()
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return _(
        "byte 0x%(byte)02x at byte offset %(offset)d (line %(line)d, column %(column)d) "
        "cannot be decoded, in “%(context)s”"
    ) % {
        "byte": data[error.start],
        "offset": error.start,
        "line": line,
        "column": error.start - line_start + 1,
        "context": shown,
    }


def _is_utf8_with_umlauts(data: bytes) -> bool:
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def detect_delimiter(header_line: str) -> str:
    """German exports use ';' (the comma is the decimal separator), others ','. Column names
    contain neither, so the header line decides."""
    semicolons, commas = header_line.count(";"), header_line.count(",")
    if semicolons == commas == 0 and "\t" in header_line:
        raise FileRefused(_("the header line is separated by tabs; only “;” and “,” are supported"))
    return ";" if semicolons > commas else ","


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line number where the record starts, fields); blank lines and rows of empty fields
    (Excel writes those below the data) are skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    next_line = 1
    for fields in reader:
        line, next_line = next_line, reader.line_num + 1
        if any(value.strip() for value in fields):
            yield line, fields


def _column_name(column: str) -> str:
    return column.strip().casefold()


def check_columns(kind: ImportKind, names: Sequence[str], *, delimiter: str) -> None:
    """Refuse headers that would lose data (unknown or doubled columns) or lack required ones."""
    known = (*COLUMNS[kind], *REPORT_COLUMNS)
    problems = []
    if kind == ImportKind.CUSTOMERS:
        if "last_name" not in names and "organisation_name" not in names:
            problems.append(_("missing required columns: last_name or organisation_name"))
    else:
        missing = [name for name in REQUIRED_CONTRACT_COLUMNS if name not in names]
        if missing:
            problems.append(
                _("missing required columns: %(columns)s") % {"columns": ", ".join(missing)}
            )
    unnamed = [str(position) for position, name in enumerate(names, start=1) if not name]
    if unnamed:
        problems.append(
            _("columns without a name in the header: %(positions)s")
            % {"positions": ", ".join(unnamed)}
        )
    unknown = [name for name in dict.fromkeys(names) if name and name not in known]
    if unknown:
        problems.append(
            _("unknown columns: %(columns)s")
            % {"columns": ", ".join(_with_suggestion(name, known) for name in unknown)}
        )
    doubled = [name for name in dict.fromkeys(names) if name and names.count(name) > 1]
    if doubled:
        problems.append(_("columns named twice: %(columns)s") % {"columns": ", ".join(doubled)})
    if problems:
        hint = ""
        if len(names) == 1 and unknown:
            other = "," if delimiter == ";" else ";"
            hint = " " + _("(is the file separated by “%(other)s”? see --delimiter)") % {
                "other": other
            }
        raise FileRefused("; ".join(problems) + hint, known_columns=list(known))


def _with_suggestion(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    if not close:
        return name
    return _("%(name)s (did you mean %(known)s?)") % {"name": name, "known": close[0]}


# --- Values: the spellings other systems use, turned into typed values (pure) -----------------

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_GERMAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
# Thousands separators only together with decimals: "1.234" alone could mean either.
_AMOUNT_SPELLINGS = (
    (re.compile(r"^\d+$"), "", ""),
    (re.compile(r"^\d+,\d{1,2}$"), "", ","),
    (re.compile(r"^\d{1,3}(?:\.\d{3})+,\d{1,2}$"), ".", ","),
    (re.compile(r"^\d+\.\d{1,2}$"), "", "."),
    (re.compile(r"^\d{1,3}(?:,\d{3})+\.\d{1,2}$"), ",", "."),
)
_MAX_AMOUNT = Decimal("999999.99")  # Contract.monthly_fee has 8 digits, 2 of them decimals
_YES = ("yes", "ja", "1", "true")
_NO = ("no", "nein", "0", "false")
_TAG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_LIST_SEPARATORS = re.compile(r"[,|]")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def parse_date(text: str, *, column: str) -> date:
    """ISO (2026-01-31) or German (31.01.2026). Two-digit years are refused: the century
    of a birth date cannot be guessed."""
    german = _GERMAN_DATE.match(text)
    try:
        if german:
            day, month, year = (int(part) for part in german.groups())
            return date(year, month, day)
        if _ISO_DATE.match(text):
            return date.fromisoformat(text)
    except ValueError as error:
        raise InvalidInput(
            _("%(column)s: “%(value)s” is not a valid date (%(reason)s)")
            % {"column": column, "value": text, "reason": error},
            field=column,
        ) from error
    raise InvalidInput(
        _("%(column)s: “%(value)s” is not a date; write 2026-01-31 or 31.01.2026")
        % {"column": column, "value": text},
        field=column,
    )


def parse_amount(text: str, *, column: str) -> Decimal:
    """Euros as German ("1.234,56", "19,99") or English ("1,234.56", "19.99") write them."""
    cleaned = text.replace("€", "").replace("EUR", "").replace(" ", "").replace("\u00a0", "")
    for pattern, thousands, decimal_mark in _AMOUNT_SPELLINGS:
        if pattern.match(cleaned):
            if thousands:
                cleaned = cleaned.replace(thousands, "")
            amount = Decimal(cleaned.replace(decimal_mark, ".") if decimal_mark else cleaned)
            if amount > _MAX_AMOUNT:
                raise InvalidInput(
                    _("%(column)s: “%(value)s” is too large") % {"column": column, "value": text},
                    field=column,
                )
            return amount
    raise InvalidInput(
        _("%(column)s: “%(value)s” is not an amount; write 19,99 or 19.99")
        % {"column": column, "value": text},
        field=column,
    )


def parse_yes_no(text: str, *, column: str) -> bool | None:
    """None for an empty cell: no decision was recorded, which is not the same as "no"."""
    value = text.casefold()
    if not value:
        return None
    if value in _YES:
        return True
    if value in _NO:
        return False
    choices = "/".join((*_YES, *_NO))
    raise InvalidInput(
        _("%(column)s: “%(value)s” is not one of %(choices)s")
        % {"column": column, "value": text, "choices": choices},
        field=column,
    )


def parse_list(text: str) -> list[str]:
    """Values separated by '|' or ',' (a comma inside a quoted CSV field is fine)."""
    items = (item.strip() for item in _LIST_SEPARATORS.split(text))
    return list(dict.fromkeys(item for item in items if item))


class RowValues:
    """One data row by column name: stripped text, "" for empty cells and absent columns."""

    def __init__(self, names: Sequence[str], fields: Sequence[str]) -> None:
        if len(fields) != len(names):
            raise InvalidInput(
                _(
                    "the line has %(fields)d fields, the header %(columns)d "
                    "(a delimiter too many or too few, or an unclosed quote)"
                )
                % {"fields": len(fields), "columns": len(names)}
            )
        self._values = {name: value.strip() for name, value in zip(names, fields, strict=True)}

    def text(self, column: str, *, fits: type[models.Model] | None = None) -> str:
        """`fits`: the model whose field of the same name must hold the value. SQLite would
        store anything; PostgreSQL refuses, so we check for both."""
        value = self._values.get(column, "")
        if fits is not None:
            max_length = fits._meta.get_field(column).max_length
            if max_length is not None and len(value) > max_length:
                raise _too_long(column, max_length)
        return value

    def required(self, column: str, *, fits: type[models.Model] | None = None) -> str:
        value = self.text(column, fits=fits)
        if not value:
            raise InvalidInput(_("%(column)s is empty") % {"column": column}, field=column)
        return value

    def date(self, column: str) -> date | None:
        value = self.text(column)
        return parse_date(value, column=column) if value else None

    def amount(self, column: str) -> Decimal | None:
        value = self.text(column)
        return parse_amount(value, column=column) if value else None


# --- Customers ---------------------------------------------------------------------------------

# Column → identifier kind. Phone and mobile are both phone numbers to us.
_IDENTIFIER_COLUMNS = (
    ("email", IdentifierKind.EMAIL),
    ("phone", IdentifierKind.PHONE),
    ("mobile", IdentifierKind.PHONE),
    ("portal_account", IdentifierKind.PORTAL_ACCOUNT),
)
_PAYMENT_DETAIL_COLUMNS = (
    "iban", "bic", "account_holder", "card_brand", "card_last4", "paypal_email",
)  # fmt: skip
_NAME_COLUMNS = (
    "salutation", "first_name", "last_name", "organisation_name", "street", "postal_code", "city",
)  # fmt: skip


@dataclass(frozen=True)
class CustomerRow:
    """A customer row, checked as far as possible without the database."""

    customer: NewCustomer
    identifiers: tuple[Identifier, ...]  # normalised, for recognising an earlier import
    payment_method: NewPaymentMethod | None
    consents_to_marketing_email: bool | None
    interests: tuple[str, ...]


def parse_customer_row(row: RowValues) -> CustomerRow:
    number = row.text("customer_number", fits=Customer)
    raw_identifiers, identifiers = _parse_identifiers(row)
    if not number and not identifiers:
        raise InvalidInput(
            _(
                "a customer needs a customer_number, email, phone, mobile or portal_account, "
                "or importing the file again would create the customer twice"
            )
        )
    names = {column: row.text(column, fits=Customer) for column in _NAME_COLUMNS}
    country = row.text("country").upper() or "DE"
    if not _COUNTRY.match(country):
        raise InvalidInput(
            _("country: “%(value)s” is not a two-letter country code such as DE")
            % {"value": country},
            field="country",
        )
    customer = NewCustomer(
        kind=row.text("kind").casefold() or CustomerKind.PERSON,
        birth_date=row.date("birth_date"),
        country=country,
        language=row.text("language").casefold() or "de",
        preferred_channel=row.text("preferred_channel").casefold(),
        customer_number=number,
        identifiers=raw_identifiers,
        **names,
    )
    validate_new_customer(customer)
    return CustomerRow(
        customer=customer,
        identifiers=identifiers,
        payment_method=_parse_payment_method(row),
        consents_to_marketing_email=parse_yes_no(
            row.text("consent_marketing_email"), column="consent_marketing_email"
        ),
        interests=tuple(_parse_interest(tag) for tag in parse_list(row.text("interests"))),
    )


def _parse_identifiers(row: RowValues) -> tuple[tuple[RawIdentifier, ...], tuple[Identifier, ...]]:
    raw_identifiers: list[RawIdentifier] = []
    identifiers: list[Identifier] = []
    for column, kind in _IDENTIFIER_COLUMNS:
        value = row.text(column)
        if not value:
            continue
        try:
            identifier = normalise(kind, value)
        except InvalidIdentifier as error:
            raise _in_column(column, error) from error
        # Exports often repeat the one number in phone and mobile; that is not a conflict.
        if identifier not in identifiers:
            raw_identifiers.append(RawIdentifier(kind.value, value))
            identifiers.append(identifier)
    return tuple(raw_identifiers), tuple(identifiers)


def _parse_payment_method(row: RowValues) -> NewPaymentMethod | None:
    kind = row.text("payment_method").casefold()
    details = {column: row.text(column) for column in _PAYMENT_DETAIL_COLUMNS}
    details["bic"] = details["bic"].replace(" ", "").upper()
    if not kind:
        given = [column for column, value in details.items() if value]
        if given:
            raise InvalidInput(
                _("%(columns)s given without payment_method") % {"columns": ", ".join(given)},
                field="payment_method",
            )
        return None
    try:
        method = validate_payment_method(NewPaymentMethod(kind=kind, is_default=True, **details))
    except InvalidIban as error:
        raise _in_column("iban", error) from error
    except InvalidIdentifier as error:
        raise _in_column("paypal_email", error) from error
    for column in _PAYMENT_DETAIL_COLUMNS:
        max_length = PaymentMethod._meta.get_field(column).max_length
        if max_length is not None and len(getattr(method, column)) > max_length:
            raise _too_long(column, max_length)
    return method


def _too_long(column: str, max_length: int) -> InvalidInput:
    return InvalidInput(
        _("%(column)s: longer than %(max_length)d characters")
        % {"column": column, "max_length": max_length},
        field=column,
    )


def _in_column(column: str, error: InvalidInput) -> InvalidInput:
    """The same error, its message naming the column (phone and mobile look alike)."""
    return type(error)(f"{column}: {error.message}", **error.details)


def _parse_interest(tag: str) -> str:
    tag = tag.casefold()
    if not _TAG.match(tag) or len(tag) > 50:
        raise InvalidInput(
            _(
                "interests: “%(value)s” is not a tag (letters a-z, digits, “-” and “_”, "
                "at most 50 characters)"
            )
            % {"value": tag},
            field="interests",
        )
    return tag


def import_customer(row: CustomerRow, *, source: str, actor: Actor = ACTOR) -> RowOutcome:
    """Create the customer with its payment method, consent and interests, unless an earlier
    import created it. The caller provides the transaction that makes this all-or-nothing."""
    number = row.customer.customer_number
    if number:
        if Customer.objects.filter(customer_number=number).exists():
            return RowOutcome.UNCHANGED
    else:
        match = identify(row.identifiers)
        if match.outcome == MatchOutcome.MATCHED:
            return RowOutcome.UNCHANGED
        if match.outcome == MatchOutcome.AMBIGUOUS:
            numbers = ", ".join(candidate.customer_number for candidate in match.candidates)
            raise InvalidInput(
                _(
                    "its e-mail addresses and phone numbers belong to different customers: "
                    "%(numbers)s"
                )
                % {"numbers": numbers}
            )
    customer = create_customer(row.customer, actor=actor)
    if row.payment_method is not None:
        add_payment_method(customer, row.payment_method, actor=actor)
    if row.consents_to_marketing_email is not None:
        record_consent(
            customer,
            Consent.Purpose.MARKETING_EMAIL,
            is_granted=row.consents_to_marketing_email,
            source=source,
            actor=actor,
        )
    for tag in row.interests:
        record_interest(customer, tag, source=source, actor=actor)
    return RowOutcome.IMPORTED


# --- Contracts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContractRow:
    customer_number: str
    contract: NewContract


def parse_contract_row(row: RowValues) -> ContractRow:
    start_date = row.date("start_date")
    if start_date is None:
        raise InvalidInput(_("%(column)s is empty") % {"column": "start_date"}, field="start_date")
    contract = NewContract(
        product_code=row.required("product"),
        start_date=start_date,
        contract_number=row.required("contract_number", fits=Contract),
        end_date=row.date("end_date"),
        status=row.text("status").casefold() or ContractStatus.ACTIVE,
        monthly_fee=row.amount("monthly_fee"),
        option_codes=tuple(parse_list(row.text("options"))),
    )
    return ContractRow(customer_number=row.required("customer_number"), contract=contract)


def import_contract(row: ContractRow, *, source: str, actor: Actor = ACTOR) -> RowOutcome:
    """Add the contract to the customer, unless an earlier import did. Inside the caller's
    transaction."""
    customer = Customer.objects.filter(customer_number=row.customer_number).first()
    if customer is None:
        raise InvalidInput(
            _("customer_number: customer %(number)s does not exist")
            % {"number": row.customer_number},
            field="customer_number",
        )
    while customer.merged_into_id:  # a merged record's number leads to the survivor
        customer = Customer.objects.get(pk=customer.merged_into_id)
    number = row.contract.contract_number
    owner_id = (
        Contract.objects.filter(contract_number=number)
        .values_list("customer_id", flat=True)
        .first()
    )
    if owner_id == customer.pk:
        return RowOutcome.UNCHANGED
    if owner_id is not None:
        raise InvalidInput(
            _("contract_number: contract %(number)s exists already for another customer")
            % {"number": number},
            field="contract_number",
        )
    add_contract(customer, row.contract, actor=actor)
    return RowOutcome.IMPORTED


# --- Running an import -------------------------------------------------------------------------


def _import_customer_values(values: RowValues, source: str) -> RowOutcome:
    row = parse_customer_row(values)
    with transaction.atomic():
        return import_customer(row, source=source)


def _import_contract_values(values: RowValues, source: str) -> RowOutcome:
    row = parse_contract_row(values)
    with transaction.atomic():
        return import_contract(row, source=source)


_IMPORTERS: dict[ImportKind, Callable[[RowValues, str], RowOutcome]] = {
    ImportKind.CUSTOMERS: _import_customer_values,
    ImportKind.CONTRACTS: _import_contract_values,
}


@dataclass
class ImportSummary:
    kind: ImportKind
    path: Path
    report_path: Path
    total: int
    imported: int = 0
    unchanged: int = 0
    rejected: int = 0
    seconds: float = 0.0

    @property
    def is_complete(self) -> bool:
        """Every row is in the database now, imported by this run or an earlier one."""
        return self.rejected == 0

    @property
    def rows_per_second(self) -> float:
        return self.total / self.seconds if self.seconds > 0 else 0.0

    def count(self, outcome: RowOutcome) -> None:
        if outcome == RowOutcome.IMPORTED:
            self.imported += 1
        elif outcome == RowOutcome.UNCHANGED:
            self.unchanged += 1
        else:
            self.rejected += 1


def default_report_path(path: Path) -> Path:
    """customers.csv → customers.rejected.csv, next to the input."""
    stem = path.name[: -len(".csv")] if path.name.lower().endswith(".csv") else path.name
    return path.with_name(f"{stem}.rejected.csv")


def import_rows(
    source: ImportFile,
    *,
    report_path: Path | None = None,
    progress: ProgressBar | None = None,
) -> ImportSummary:
    """Import every row of a checked file, each in its own transaction. Rejected rows go to
    the report, which is written even when empty so that an old report never outlives its run.
    """
    report_path = report_path or default_report_path(source.path)
    summary = ImportSummary(
        kind=source.kind, path=source.path, report_path=report_path, total=source.row_count
    )
    import_values = _IMPORTERS[source.kind]
    origin = f"import:{source.path.name}"[: Consent._meta.get_field("source").max_length]
    started = time.monotonic()
    try:
        with _rejected_rows_report(report_path, source) as reject:
            for row in source.rows():
                try:
                    outcome = import_values(RowValues(source.names, row.fields), origin)
                except DomainError as error:
                    reject(row, error.message)
                    outcome = RowOutcome.REJECTED
                summary.count(outcome)
                if progress is not None:
                    progress.advance()
    finally:
        # Also when interrupted: the operator sees how far it got.
        if progress is not None:
            progress.finish()
    summary.seconds = time.monotonic() - started
    return summary


@contextmanager
def _rejected_rows_report(
    report_path: Path, source: ImportFile
) -> Iterator[Callable[[SourceRow, str], None]]:
    """The input's columns plus line and reason, in the input's encoding, delimiter and byte
    order mark, so the report opens like the input and, corrected, can be imported as it is.
    The columns of an earlier report are not repeated."""
    if report_path.resolve() == source.path.resolve():
        raise FileRefused(_("the report would overwrite the file being imported"))
    kept = [position for position, name in enumerate(source.names) if name not in REPORT_COLUMNS]
    encoding = "utf-8-sig" if source.has_bom else source.encoding
    try:
        handle = report_path.open("w", encoding=encoding, errors="replace", newline="")
    except OSError as error:
        raise FileRefused(
            _("cannot write the report %(path)s: %(reason)s; choose another place with --report")
            % {"path": report_path, "reason": error.strerror}
        ) from error
    with handle:
        writer = csv.writer(handle, delimiter=source.delimiter)
        writer.writerow([*(source.header[position] for position in kept), *REPORT_COLUMNS])

        def reject(row: SourceRow, reason: str) -> None:
            # A row with too few fields is padded; one with too many is cut to the header
            # (the reason says so, and the line number leads to the original).
            fields = [row.fields[i] if i < len(row.fields) else "" for i in kept]
            writer.writerow([*fields, row.line, reason])

        yield reject


# --- Progress ----------------------------------------------------------------------------------


class ProgressBar:
    """Rows done of the total, the rate and the time left, for the operator watching stderr.

    On a terminal one line is redrawn, at most every `redraw_seconds`; in a log file or a pipe
    a new line is written every `log_seconds`, so that logs stay readable.
    """

    def __init__(
        self,
        total: int,
        *,
        write: Callable[[str], None],
        is_terminal: bool,
        label: str = "",
        clock: Callable[[], float] = time.monotonic,
        redraw_seconds: float = 0.25,
        log_seconds: float = 10.0,
    ) -> None:
        self.total = total
        self.done = 0
        self._write = write
        self._is_terminal = is_terminal
        self._label = label
        self._clock = clock
        self._interval = redraw_seconds if is_terminal else log_seconds
        self._started_at = self._drawn_at = clock()
        self._drawn_length = 0

    def advance(self, rows: int = 1) -> None:
        self.done += rows
        now = self._clock()
        if now - self._drawn_at >= self._interval:
            self._draw(now)

    def finish(self) -> None:
        self._draw(self._clock())
        if self._is_terminal:
            self._write("\n")

    def render(self, now: float) -> str:
        elapsed = now - self._started_at
        rate = self.done / elapsed if elapsed > 0 else 0.0
        share = self.done / self.total if self.total else 1.0
        filled = round(share * _BAR_WIDTH)
        bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
        eta = _duration((self.total - self.done) / rate) if rate > 0 else "?"
        label = f"{self._label} " if self._label else ""
        return (
            f"{label}{self.done:,}/{self.total:,} {share:4.0%} [{bar}] "
            f"{rate:,.0f} rows/s, {_duration(elapsed)} elapsed, ETA {eta}"
        )

    def _draw(self, now: float) -> None:
        self._drawn_at = now
        text = self.render(now)
        if self._is_terminal:
            # Pad over a longer previous line rather than rely on terminal escape codes.
            self._write("\r" + text.ljust(self._drawn_length))
            self._drawn_length = len(text)
        else:
            self._write(text + "\n")


_BAR_WIDTH = 24


def _duration(seconds: float) -> str:
    minutes, second = divmod(int(seconds), 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02d}:{second:02d}"
