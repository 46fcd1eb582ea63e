"""Reading labelled examples from a CSV file, refusing a file as a whole before any
training starts: unreadable, wrongly encoded, missing columns, empty texts or labels.

No models: the caller decides what to do with the examples.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext as _

from casework.kernel.errors import InvalidInput

# Excel's CSV files on Windows start with a byte-order mark; "utf-8-sig" reads both.
DEFAULT_ENCODING = "utf-8-sig"
_DELIMITERS = ",;\t|"
# A single field this long is a broken quote, not a message.
_MAX_FIELD_CHARS = 2_000_000


class SourceRefused(InvalidInput):
    """The file cannot be used; nothing has been trained."""

    code = "classify_source_refused"


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    language: str = ""


@dataclass(frozen=True)
class LabelledSource:
    name: str  # the file's name, for the version's description
    sha256: str
    examples: list[Example]


def read_labelled_csv(
    path: Path,
    *,
    text_column: str,
    label_column: str,
    language_column: str | None = None,
    encoding: str | None = None,
) -> LabelledSource:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise SourceRefused(
            _("%(path)s: cannot read the file: %(reason)s")
            % {"path": path, "reason": error.strerror or error}
        ) from error
    return parse_labelled_csv(
        raw,
        name=path.name,
        text_column=text_column,
        label_column=label_column,
        language_column=language_column,
        encoding=encoding,
    )


def parse_labelled_csv(
    raw: bytes,
    *,
    name: str,
    text_column: str,
    label_column: str,
    language_column: str | None = None,
    encoding: str | None = None,
) -> LabelledSource:
    codec = encoding or DEFAULT_ENCODING
    try:
        content = raw.decode(codec)
    except LookupError as error:
        raise SourceRefused(_("unknown encoding %(encoding)s") % {"encoding": codec}) from error
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise SourceRefused(
            _(
                "%(name)s is not %(encoding)s: undecodable byte 0x%(byte)02x on line %(line)d "
                "(byte offset %(offset)d). Pass --encoding, e.g. cp1252 for Excel on Windows."
            )
            % {
                "name": name,
                "encoding": codec,
                "byte": raw[error.start],
                "line": line,
                "offset": error.start,
            }
        ) from error
    if "\x00" in content:
        raise SourceRefused(
            _("%(name)s contains NUL characters: not a text file, or UTF-16 (pass --encoding)")
            % {"name": name}
        )
    if not content.strip():
        raise SourceRefused(_("%(name)s is empty") % {"name": name})

    reader = csv.reader(io.StringIO(content, newline=""), delimiter=_delimiter(content))
    csv.field_size_limit(_MAX_FIELD_CHARS)
    try:
        header = [column.strip() for column in next(reader)]
        wanted = [text_column, label_column] + ([language_column] if language_column else [])
        missing = [column for column in wanted if column not in header]
        if missing:
            raise SourceRefused(
                _("%(name)s has no column %(missing)s; its columns are: %(columns)s")
                % {
                    "name": name,
                    "missing": ", ".join(repr(column) for column in missing),
                    "columns": ", ".join(repr(column) for column in header),
                },
                missing=missing,
            )
        text_at, label_at = header.index(text_column), header.index(label_column)
        language_at = header.index(language_column) if language_column else None
        examples = []
        for row in reader:
            if not any(field.strip() for field in row):
                continue
            line = reader.line_num
            if len(row) < len(header):
                raise SourceRefused(
                    _("%(name)s line %(line)d: %(found)d fields, the header has %(expected)d")
                    % {"name": name, "line": line, "found": len(row), "expected": len(header)}
                )
            label = row[label_at].strip()
            if not label:
                raise SourceRefused(
                    _("%(name)s line %(line)d: the label (%(column)s) is empty")
                    % {"name": name, "line": line, "column": label_column}
                )
            examples.append(
                Example(
                    text=row[text_at],
                    label=label,
                    language=row[language_at].strip() if language_at is not None else "",
                )
            )
    except csv.Error as error:
        raise SourceRefused(
            _("%(name)s line %(line)d: %(reason)s")
            % {"name": name, "line": reader.line_num, "reason": error}
        ) from error
    if not examples:
        raise SourceRefused(_("%(name)s has a header but no rows") % {"name": name})
    return LabelledSource(name=name, sha256=hashlib.sha256(raw).hexdigest(), examples=examples)


def _delimiter(content: str) -> str:
    """The separator of the header line: the candidate it contains most often."""
    header = content.lstrip("\ufeff").split("\n", 1)[0]
    counts = {candidate: header.count(candidate) for candidate in _DELIMITERS}
    best = max(counts, key=lambda candidate: counts[candidate])
    return best if counts[best] else ","
