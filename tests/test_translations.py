"""The German catalogue is complete, keeps every placeholder, and the committed .mo is the
compilation of the committed .po (the product must run where no gettext tools are installed).

Updating the catalogue is described in docs/translations.md."""

from __future__ import annotations

import ast
import gettext
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.template import Context, Template
from django.utils import translation

import casework

LOCALE_DIR = Path(casework.__file__).resolve().parent / "locale"
PO_PATH = LOCALE_DIR / "de" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")

# %(name)s, %(count)d, %s, %% … (printf style) and {name}, {0}, {} (str.format style).
_PRINTF = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")
_BRACE = re.compile(r"\{[^{}\s]*\}")
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


@dataclass
class Entry:
    line: int
    flags: set[str] = field(default_factory=set)
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"django.po:{self.line} {self.msgid!r}"


def parse_po(path: Path) -> list[Entry]:
    """The entries of a .po file, header included, obsolete (#~) entries left out."""
    entries: list[Entry] = []
    entry: Entry | None = None
    target: tuple[str, int] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            if not line:
                entry, target = None, None
            continue
        if entry is None:
            entry = Entry(line=number)
            entries.append(entry)
        if line.startswith("#,"):
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            keyword, rest = "", line
        text = ast.literal_eval(rest)
        if keyword == "msgctxt":
            entry.msgctxt, target = text, ("msgctxt", 0)
        elif keyword == "msgid":
            entry.msgid, target = text, ("msgid", 0)
        elif keyword == "msgid_plural":
            entry.msgid_plural, target = text, ("msgid_plural", 0)
        elif keyword.startswith("msgstr"):
            index = int(keyword[7:-1]) if keyword.startswith("msgstr[") else 0
            entry.msgstr[index], target = text, ("msgstr", index)
        elif keyword == "" and target is not None:
            name, index = target
            if name == "msgstr":
                entry.msgstr[index] += text
            else:
                setattr(entry, name, (getattr(entry, name) or "") + text)
        else:
            raise AssertionError(f"django.po:{number}: cannot parse {raw!r}")
    return entries


def placeholders(text: str) -> Counter[str]:
    return Counter(_PRINTF.findall(text) + _BRACE.findall(text) + _TAG.findall(text))


@pytest.fixture(scope="module")
def po_entries() -> list[Entry]:
    return parse_po(PO_PATH)


@pytest.fixture(scope="module")
def messages(po_entries: list[Entry]) -> list[Entry]:
    return [entry for entry in po_entries if entry.msgid]


def test_the_header_declares_german_utf8_and_two_plural_forms(po_entries):
    header = po_entries[0]
    assert header.msgid == "", "the first entry of the .po must be its header"
    assert "fuzzy" not in header.flags, "the header is still marked fuzzy"
    fields = dict(line.split(": ", 1) for line in header.msgstr[0].splitlines() if ": " in line)
    assert fields["Language"] == "de"
    assert fields["Content-Type"] == "text/plain; charset=UTF-8"
    assert fields["Plural-Forms"] == "nplurals=2; plural=(n != 1);"
    assert fields["Project-Id-Version"].startswith("Casework")


def test_the_catalogue_is_not_empty(messages):
    assert len(messages) > 100, "django.po looks truncated: run `casework makemessages`"


def test_every_entry_is_translated_and_none_is_fuzzy(messages):
    fuzzy = [entry.label for entry in messages if "fuzzy" in entry.flags]
    untranslated = [
        entry.label
        for entry in messages
        if not entry.msgstr
        or any(not text.strip() for text in entry.msgstr.values())
        or (entry.msgid_plural is not None and sorted(entry.msgstr) != [0, 1])
    ]
    problems = [f"fuzzy: {label}" for label in fuzzy] + [
        f"untranslated: {label}" for label in untranslated
    ]
    assert not problems, "translate these entries and drop their fuzzy flag:\n" + "\n".join(
        problems
    )


def test_every_translation_keeps_the_placeholders_and_tags_of_its_source(messages):
    wrong = []
    for entry in messages:
        for index, text in entry.msgstr.items():
            source = entry.msgid_plural if index > 0 and entry.msgid_plural else entry.msgid
            if placeholders(text) != placeholders(source):
                wrong.append(
                    f"{entry.label}: {sorted(placeholders(source).elements())} "
                    f"!= {sorted(placeholders(text).elements())} in {text!r}"
                )
    assert not wrong, "placeholders or HTML tags differ from the source:\n" + "\n".join(wrong)


def test_the_committed_mo_holds_exactly_the_translations_of_the_po(messages):
    """Without msgfmt: read the .mo with the standard library and compare it entry by entry."""
    with MO_PATH.open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
    expected: dict[object, str] = {}
    for entry in messages:
        msgid = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        if entry.msgid_plural is None:
            expected[msgid] = entry.msgstr[0]
        else:
            for index, text in entry.msgstr.items():
                expected[(msgid, index)] = text
    compiled = {key: value for key, value in catalogue.items() if key != ""}
    stale = sorted(
        repr(key)
        for key in expected.keys() | compiled.keys()
        if expected.get(key) != compiled.get(key)
    )
    assert not stale, "django.mo is out of date; run `casework compilemessages -l de`:\n" + (
        "\n".join(stale[:20])
    )


def test_the_committed_mo_is_the_compilation_of_the_po(tmp_path):
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("msgfmt (GNU gettext) is not installed; the byte comparison needs it")
    compiled = tmp_path / "django.mo"
    # The same call as `casework compilemessages`.
    result = subprocess.run(
        [msgfmt, "--check-format", "-o", str(compiled), str(PO_PATH)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"msgfmt refuses django.po:\n{result.stderr}"
    assert compiled.read_bytes() == MO_PATH.read_bytes(), (
        "django.mo is not the compilation of django.po; run `casework compilemessages -l de` "
        "from src/casework and commit both files"
    )


def test_django_serves_german_and_falls_back_to_the_english_source():
    with translation.override("de"):
        assert translation.gettext("customer created") == "Kunde angelegt"
        assert translation.gettext("Get next") == "Nächste Aufgabe"
        assert (
            translation.ngettext(
                "%(counter)s more open case in another department",
                "%(counter)s more open cases in other departments",
                2,
            )
            % {"counter": 2}
            == "2 weitere offene Vorgänge in anderen Abteilungen"
        )
    with translation.override("en"):
        assert translation.gettext("customer created") == "customer created"
        assert translation.gettext("Get next") == "Get next"


def test_templates_render_in_the_active_language():
    template = Template(
        '{% load i18n %}{% translate "Duplicate suspects" %} · '
        "{% blocktranslate count counter=1 %}{{ counter }} more open case in another department"
        "{% plural %}{{ counter }} more open cases in other departments{% endblocktranslate %}"
    )
    with translation.override("de"):
        assert template.render(Context()) == (
            "Mögliche Dubletten · 1 weiterer offener Vorgang in einer anderen Abteilung"
        )
    with translation.override("en"):
        assert template.render(Context()) == (
            "Duplicate suspects · 1 more open case in another department"
        )
