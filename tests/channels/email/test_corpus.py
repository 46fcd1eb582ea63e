"""Real-world mail from public mail-parser test suites (/work/shared/data/mime_dev, see its
README.md and MANIFEST.csv): every file parses, quickly, into storable text; a few known files
are checked for what they are known to contain."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from casework.channels.email.parsing import Address, ParsedEmail, parse_message

CORPUS = Path("/work/shared/data/mime_dev")
SECONDS_PER_FILE = 2.0

pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"the real-world mail corpus {CORPUS} is not on this machine"
)


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(
        path
        for path in CORPUS.rglob("*")
        if path.is_file() and path.name not in ("README.md", "MANIFEST.csv")
    )


def parse_corpus_file(relative: str) -> ParsedEmail:
    return parse_message((CORPUS / relative).read_bytes())


@pytest.mark.parametrize("path", corpus_files(), ids=lambda path: str(path.relative_to(CORPUS)))
def test_every_corpus_mail_parses_in_time_into_storable_text(path: Path) -> None:
    raw = path.read_bytes()

    started = time.perf_counter()
    parsed = parse_message(raw)
    elapsed = time.perf_counter() - started

    assert isinstance(parsed, ParsedEmail)
    assert elapsed < SECONDS_PER_FILE
    assert not any(defect.startswith("message could not be parsed") for defect in parsed.defects)
    for text in (parsed.subject, parsed.full_text, parsed.html, *(v for _, v in parsed.headers)):
        assert "\x00" not in text
        text.encode("utf-8")


def test_corpus_is_complete() -> None:
    assert len(corpus_files()) == 620


def test_gmail_bounce_names_the_bounced_message() -> None:
    parsed = parse_corpus_file("flanker/bounce/gmail-invalid-address.eml")

    assert parsed.is_bounce
    assert parsed.bounced_message_id.startswith(
        "CAKsfaBUUGqVZiaMrmH3TRPfq1odQPtM7Ey5YW1SgyJJRHtAjgw@"
    )


def test_office365_bounce_names_the_bounced_message() -> None:
    parsed = parse_corpus_file("flanker/bounce/office365.eml")

    assert parsed.is_bounce
    assert parsed.bounced_message_id == "20171013111011.20866.254C2F3A4D7AA526@ninomail.com"


def test_delay_notice_is_a_delivery_status_notification() -> None:
    parsed = parse_corpus_file("mail_gem/emails/multipart_report_emails/report_422.eml")

    assert parsed.is_bounce
    assert parsed.sender == Address("Mail Delivery Subsystem", "MAILER-DAEMON@tppppp.com.au")
    assert "Mailbox full" in parsed.text


def test_read_receipt_is_automatic_but_no_bounce() -> None:
    parsed = parse_corpus_file("mimekit/messages/disposition-notification.txt")

    assert parsed.is_auto_reply
    assert not parsed.is_bounce


def test_japanese_iso_2022_jp_subject_and_body() -> None:
    parsed = parse_corpus_file("mail_gem/emails/multi_charset/japanese_iso_2022.eml")

    assert parsed.subject == "まみむめも"
    assert parsed.text == "すみません。"


def test_korean_outlook_charset() -> None:
    parsed = parse_corpus_file("mail_gem/emails/multi_charset/ks_c_5601-1987.eml")

    assert parsed.text == "스티해"


def test_rfc6532_utf8_headers() -> None:
    parsed = parse_corpus_file("mail_gem/emails/rfc6532/utf8_headers.eml")

    assert parsed.subject == "Säying Hello"
    assert parsed.sender == Address("Jöhn Doe", "jdöe@mächine.example")


def test_raw_utf8_file_name() -> None:
    parsed = parse_corpus_file("mail_gem/emails/attachment_emails/attachment_nonascii_filename.eml")

    assert [attachment.filename for attachment in parsed.attachments] == ["ciële.txt"]


def test_long_cyrillic_file_name_cut_inside_a_character() -> None:
    parsed = parse_corpus_file("flanker/russian-attachment-yahoo.eml")

    (image,) = parsed.attachments
    assert image.filename.startswith("Картинка с очень, очень длинным предлинным именем")
    assert image.content.startswith(b"\x89PNG")


def test_utf16_html_mail() -> None:
    parsed = parse_corpus_file("apache_spamassassin_tdata/spam/utf16.eml")

    assert parsed.text.startswith("Dear potencial partner,")


def test_torture_test_keeps_every_encapsulated_message() -> None:
    parsed = parse_corpus_file("flanker/torture.eml")

    forwarded = [a for a in parsed.attachments if a.content_type == "message/rfc822"]
    assert len(forwarded) == 8  # the two nested deeper stay inside their .eml
    assert parsed.full_text.count("---------- Forwarded message ----------") == 10


def test_nested_parts_that_reuse_their_parents_boundary_keep_the_attachment() -> None:
    parsed = parse_corpus_file("spamscope_mail_parser/mail_malformed_1")

    assert [attachment.filename for attachment in parsed.attachments] == [
        "20160523_916527.jpg_.zip"
    ]


def test_deeply_nested_message_is_cut_off_not_crashed() -> None:
    parsed = parse_corpus_file("flanker/enclosed-endless.eml")

    assert parsed.subject == "Wow"
    assert parsed.text.startswith("Hello")
    assert any("the rest ignored" in defect for defect in parsed.defects)
