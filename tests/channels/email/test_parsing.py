"""The MIME parser, one behaviour per test: handwritten edge cases in fixtures/, small mails
built inline where one header is the point, and property tests for totality."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework.channels.email.html_text import html_to_text
from casework.channels.email.parsing import (
    Address,
    ParsedEmail,
    decode_bytes,
    parse_message,
    sanitise_html,
)
from casework.channels.email.quoting import split_reply

FIXTURES = Path(__file__).parent / "fixtures"


def parse_fixture(name: str, *, max_attachment_bytes: int | None = None) -> ParsedEmail:
    return parse_message((FIXTURES / name).read_bytes(), max_attachment_bytes=max_attachment_bytes)


def mail(
    *headers: str,
    subject: str = "Test",
    body: str = "Hallo",
    content_type: str = "text/plain; charset=utf-8",
    sender: str = "Anna Meyer <anna@example.de>",
) -> bytes:
    lines = [
        f"From: {sender}",
        "To: service@demo.casework.test",
        f"Subject: {subject}",
        "Message-ID: <test-1@example.de>",
        *headers,
        "MIME-Version: 1.0",
        f"Content-Type: {content_type}",
    ]
    return ("\n".join(lines) + "\n\n" + body).encode("utf-8")


def string_fields(parsed: ParsedEmail) -> list[str]:
    values = [
        parsed.message_id,
        *parsed.in_reply_to,
        *parsed.references,
        parsed.subject,
        parsed.sender.name,
        parsed.sender.address,
        parsed.text,
        parsed.quoted_text,
        parsed.signature,
        parsed.full_text,
        parsed.html,
        parsed.bounced_message_id,
        *parsed.defects,
    ]
    for address in (*parsed.to, *parsed.cc, *([parsed.reply_to] if parsed.reply_to else [])):
        values += [address.name, address.address]
    for name, value in parsed.headers:
        values += [name, value]
    for attachment in parsed.attachments:
        values += [attachment.filename, attachment.content_type, attachment.content_id]
    return values


def assert_storable(parsed: ParsedEmail) -> None:
    """Every string can go into PostgreSQL text and JSON: valid Unicode, no NUL."""
    for value in string_fields(parsed):
        assert isinstance(value, str)
        assert "\x00" not in value
        value.encode("utf-8")  # raises on lone surrogates


# -- charsets and encodings: German umlauts in every path ----------------------------------


def test_quoted_printable_body_and_q_encoded_headers_keep_umlauts() -> None:
    parsed = parse_fixture("de_quoted_printable.eml")

    assert parsed.subject == "Grüße aus Köln – Beitragsrückerstattung"
    assert parsed.sender == Address("Jürgen Müller", "juergen.mueller@example.de")
    assert "ich bitte um Rückerstattung des Beitrags für März." in parsed.text
    assert "Die Abbuchung über 12,50 € erfolgte doppelt." in parsed.text  # soft break joined
    assert parsed.defects == ()


def test_base64_body_and_b_encoded_headers_keep_umlauts() -> None:
    parsed = parse_fixture("de_base64.eml")

    assert parsed.subject == "Adressänderung für Mitglied 4711"
    assert parsed.sender == Address("Björn Schäfer", "bjoern@example.de")
    assert "meine neue Adresse lautet: Königstraße 5, 50667 Köln." in parsed.text
    assert "\r" not in parsed.full_text


def test_body_declared_utf8_but_written_in_windows_1252_reads_as_windows_1252() -> None:
    parsed = parse_fixture("de_8bit_declared_utf8_is_cp1252.eml")

    assert "ich kündige zum 31.03. Die Gebühr von 5 € bitte zurück." in parsed.text
    assert parsed.text.endswith("Grüße\nKäthe Groß")
    assert parsed.subject == "Kündigung – Grüße"  # raw 8-bit header bytes
    assert parsed.sender.name == "Käthe Groß"
    assert any("not valid UTF-8" in defect for defect in parsed.defects)


def test_body_declared_latin1_but_written_in_utf8_reads_as_utf8() -> None:
    parsed = parse_fixture("de_latin1_declared_is_utf8.eml")

    assert parsed.text == "Schöne Grüße aus Düsseldorf"
    assert parsed.defects == ("text/plain: declared iso-8859-1 but the content is UTF-8",)


def test_encoded_word_split_inside_a_character_is_joined_before_decoding() -> None:
    parsed = parse_fixture("encoded_word_split_unknown_charset.eml")

    assert parsed.subject == "Rückfrage zur Übertragung"
    assert parsed.sender == Address("Sören", "soeren@example.de")  # encoded word in quotes
    assert parsed.text == "Bitte um Rückruf."  # charset "unknown-8bit" guessed as UTF-8


def test_windows_korean_and_undefined_charset_labels() -> None:
    parsed = parse_fixture("charset_aliases.eml")

    assert "Straße € „Anführung“" in parsed.text  # "cp-1252"
    assert "안녕하세요" in parsed.text  # ks_c_5601-1987 means cp949
    assert "Grüße" in parsed.text  # x-user-defined


@pytest.mark.parametrize(
    ("data", "label", "expected"),
    [
        ("Grüße".encode("cp1252"), "utf-8", "Grüße"),
        ("Grüße".encode("cp1252"), '"UTF-8"', "Grüße"),
        ("Grüße".encode(), "iso-8859-1", "Grüße"),
        ("5 €".encode("cp1252"), "iso-8859-1", "5 €"),  # latin-1 means windows-1252
        ("Grüße".encode("cp1252"), "us-ascii", "Grüße"),
        ("Grüße".encode(), "unknown-8bit", "Grüße"),
        ("Grüße".encode("cp1252"), "x-user-defined", "Grüße"),
        ("Grüße".encode("cp1252"), "win-1252", "Grüße"),
        ("Grüße".encode("cp1252"), "windows-1252", "Grüße"),
        ("Grüße".encode("cp1252"), "base64", "Grüße"),  # a Python codec, not a charset
        ("Grüße".encode("cp1252"), "unicode_escape", "Grüße"),
        ("Grüße".encode(), "utf8", "Grüße"),
        ("Grüße".encode("iso-8859-15"), "latin-9", "Grüße"),
        ("€".encode("iso-8859-15"), "iso-8859-15", "€"),
        ("スミマセン".encode("cp932"), "shift_jis", "スミマセン"),
        ("中文".encode("gbk"), "gb2312", "中文"),
        (b"\xef\xbb\xbfBOM", None, "BOM"),
        ("Grüße".encode("utf-16"), None, "Grüße"),
        ("Grüße".encode() + b"\xff", "utf-8", "Grüße\ufffd"),  # one broken byte
    ],
)
def test_decode_bytes_reads_labels_the_way_mailers_mean_them(
    data: bytes, label: str | None, expected: str
) -> None:
    assert decode_bytes(data, label)[0] == expected


# -- attachments ---------------------------------------------------------------------------


def test_attachment_file_names_are_decoded_and_sanitised() -> None:
    parsed = parse_fixture("attachment_filenames.eml")

    assert [attachment.filename for attachment in parsed.attachments] == [
        "Rechnung März.pdf",  # RFC 2231
        "Sehr langer Dateiname für die Grüße.pdf",  # RFC 2231 continuations, latin-1
        "Kündigung.pdf",  # RFC 2047 inside quotes
        "Übersicht.txt",  # raw 8-bit UTF-8
        "passwd",  # "../../etc/passwd"
        "rechnung_fdp.exe",  # right-to-left override made visible
        "attachment-7.png",  # none given
    ]
    assert parsed.text == "Anbei die Unterlagen."


def test_attachment_records_type_size_and_hash_of_the_decoded_content() -> None:
    pdf = parse_fixture("attachment_filenames.eml").attachments[0]

    assert pdf.content_type == "application/pdf"
    assert pdf.content == b"%PDF-1.4 Rechnung\n" * 8
    assert pdf.size_bytes == len(pdf.content)
    assert pdf.sha256 == hashlib.sha256(pdf.content).hexdigest()
    assert not pdf.is_inline
    assert not pdf.is_oversized


def test_oversized_attachment_keeps_size_and_hash_but_not_its_bytes() -> None:
    parsed = parse_fixture("attachment_filenames.eml", max_attachment_bytes=100)

    pdf, _, _, text_file, *_ = parsed.attachments
    assert pdf.is_oversized
    assert pdf.content == b""
    assert pdf.size_bytes == 144
    assert pdf.sha256 == hashlib.sha256(b"%PDF-1.4 Rechnung\n" * 8).hexdigest()
    assert not text_file.is_oversized
    assert text_file.content == b"Zeile 1"


def test_inline_image_referenced_by_cid_is_inline_and_html_keeps_the_reference() -> None:
    parsed = parse_fixture("html_related_inline_image.eml")

    (image,) = parsed.attachments
    assert image.filename == "schaden.png"
    assert image.content_id == "foto1@example.de"
    assert image.is_inline
    assert image.content.startswith(b"\x89PNG")
    assert 'src="cid:foto1@example.de"' in parsed.html


def test_image_with_content_id_but_no_reference_and_no_inline_disposition_is_not_inline() -> None:
    raw = mail(
        content_type='multipart/mixed; boundary="m"',
        body=(
            "--m\nContent-Type: text/html\n\n<p>ohne Bild</p>\n"
            "--m\nContent-Type: image/gif\nContent-ID: <logo@x>\n"
            "Content-Transfer-Encoding: base64\n\nR0lGODlhAQABAAAAACw=\n--m--\n"
        ),
    )

    (image,) = parse_message(raw).attachments
    assert image.content_id == "logo@x"
    assert not image.is_inline


def test_forwarded_message_is_kept_whole_and_its_text_is_searchable() -> None:
    parsed = parse_fixture("forwarded_rfc822.eml")

    (forwarded,) = parsed.attachments  # the inner PDF stays inside the .eml
    assert forwarded.filename == "forwarded-message.eml"
    assert forwarded.content_type == "message/rfc822"
    inner = parse_message(forwarded.content)
    assert inner.subject == "Ihre Abrechnung für März"
    assert [attachment.filename for attachment in inner.attachments] == ["abrechnung.pdf"]
    assert parsed.text == "Siehe unten, bitte prüfen."
    assert "---------- Forwarded message ----------" in parsed.full_text
    assert "Subject: Ihre Abrechnung für März" in parsed.full_text
    assert "Ihre Ausschüttung beträgt 1.234,56 €." in parsed.full_text


@pytest.mark.parametrize(
    ("fixture", "filename", "content_type", "text"),
    [
        (
            "smime_signed.eml",
            "smime.p7s",
            "application/pkcs7-signature",
            "Die Beglaubigung liegt Ihnen ab Montag vor.",
        ),
        (
            "pgp_signed.eml",
            "signature.asc",
            "application/pgp-signature",
            "Please find my signed statement.",
        ),
        ("smime_encrypted.eml", "smime.p7m", "application/pkcs7-mime", ""),
    ],
)
def test_signed_and_encrypted_parts_are_kept_as_attachments(
    fixture: str, filename: str, content_type: str, text: str
) -> None:
    parsed = parse_fixture(fixture)

    (attachment,) = parsed.attachments
    assert (attachment.filename, attachment.content_type) == (filename, content_type)
    assert attachment.size_bytes > 0
    assert parsed.text == text


# -- HTML ----------------------------------------------------------------------------------


def test_hostile_html_is_sanitised_for_display() -> None:
    html = parse_fixture("html_only_hostile.eml").html.lower()

    for forbidden in (
        "<script", "onerror", "onload", "javascript:", "<iframe", "<form", "<input",
        "expression(", "<style", "alert(", "document.write", "evil.example",
    ):  # fmt: skip
        assert forbidden not in html
    assert '<a href="https://example.com/rechnung?id=1"' in html
    assert 'rel="noopener noreferrer"' in html
    assert "absatz mit stil" in html


def test_html_only_mail_gets_a_clean_text() -> None:
    parsed = parse_fixture("html_only_hostile.eml")

    assert parsed.text.startswith(
        "Sehr geehrte Kundin,\n\nIhre Rechnung finden Sie im Kundenportal"
    )
    assert "im Kundenportal (https://example.com/rechnung?id=1)." in parsed.text
    assert "- Erster Punkt\n- Zweiter Punkt" in parsed.text
    assert "Preis: 10 € & mehr" in parsed.text
    for invisible in ("alert", "color: red", "document.write", "<"):
        assert invisible not in parsed.full_text


def test_placeholder_plain_alternative_gives_way_to_the_html_text() -> None:
    parsed = parse_fixture("html_related_inline_image.eml")

    assert parsed.text.startswith("Hier das Foto vom Schaden:")
    assert "https://example.de/schaden" in parsed.text
    assert "(https://example.de/schaden)" not in parsed.text  # shown once, not twice
    assert "HTML capable" not in parsed.full_text


def test_plain_alternative_with_content_is_preferred_over_the_html() -> None:
    parsed = parse_fixture("gmail_en_reply.eml")

    assert parsed.text == "Thanks, that works for me.\n\nOlivia"
    assert "<blockquote" in parsed.html


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>eins</p><p>zwei</p>", "eins\n\nzwei"),
        ("a<br>b<br><br><br>c", "a\nb\n\nc"),
        ("<div>a</div><div>b</div>", "a\nb"),
        ("<ul><li>x</li><li>y<ol><li>z</li></ol></li></ul>", "- x\n- y\n  1. z"),
        ('<a href="https://a.de/x">hier</a>', "hier (https://a.de/x)"),
        ('<a href="https://a.de/">https://a.de</a>', "https://a.de"),
        ('<a href="mailto:a@b.de">a@b.de</a>', "a@b.de"),
        ('<a href="javascript:x()">klick</a>', "klick"),
        ("&lt;b&gt; &amp; &euro; &#228;", "<b> & € ä"),
        ("<pre>a   b\n  c</pre>", "a   b\n  c"),
        ("  viel     Platz \n\n hier ", "viel Platz hier"),
        ('<span style="display:none">Vorschau</span>Inhalt', "Inhalt"),
        ("<html><head><title>Titel</title><style>p {}</style><body><p>Text", "Text"),
        ("<p>a <!-- nie geschlossen", "a"),
        ('<a href="https://a.de/x>kaputt', ""),
        ("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"),
        ("Antwort<blockquote>Frage<br>zwei</blockquote>", "Antwort\n\n> Frage\n> zwei"),
        ("<p>unclosed <b>bold", "unclosed bold"),
        ("</div></p>stray", "stray"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_sanitise_html_keeps_cid_images_and_drops_dangerous_urls() -> None:
    cleaned = sanitise_html(
        '<img src="cid:a@b"><img src="javascript:x"><a href="data:text/html,x">d</a>'
        '<p style="color: red">rot</p><p style="background:url(http://track.example/p)">t</p>'
    )

    assert '<img src="cid:a@b">' in cleaned
    assert "javascript" not in cleaned
    assert "data:" not in cleaned
    assert 'style="color:red"' in cleaned
    assert "track.example" not in cleaned


# -- quoted history and signatures ---------------------------------------------------------


def test_outlook_german_reply_keeps_the_closing_and_cuts_at_the_header_block() -> None:
    parsed = parse_fixture("outlook_de_reply.eml")

    assert parsed.text == (
        "Guten Tag,\n\nvielen Dank. Die Unterlagen reiche ich morgen nach.\n\n"
        "Mit freundlichen Grüßen\nAnna Müller"
    )
    assert parsed.quoted_text.startswith("Von: Mitgliederservice <service@demo.casework.test>")
    assert parsed.quoted_text.endswith("wir haben Ihre Anfrage erhalten.")
    assert parsed.signature == ""


def test_thunderbird_german_reply_separates_quote_and_rfc3676_signature() -> None:
    parsed = parse_fixture("thunderbird_de_reply.eml")

    assert parsed.text == (
        "Hallo,\n\ndie Meldung für das Werk „Sommerlied“ ist jetzt vollständig. "
        "Die Aufstellung liegt bei."  # format=flowed joined
    )
    assert parsed.quoted_text.startswith("Am 03.03.2025 um 10:15 schrieb Mitgliederservice:\n>")
    assert parsed.signature == "-- \nFelix Wagner\nKomponist, Musterstadt"


def test_gmail_english_reply_with_a_wrapped_attribution() -> None:
    parsed = parse_fixture("gmail_en_reply.eml")

    assert parsed.text == "Thanks, that works for me.\n\nOlivia"
    assert parsed.quoted_text.startswith("On Mon, 3 Mar 2025 at 10:15, Casework Service Team")
    assert "> please confirm the date." in parsed.quoted_text


def test_iphone_german_reply_separates_the_mobile_signature() -> None:
    parsed = parse_fixture("iphone_de_reply.eml")

    assert parsed.text == "Passt, danke!"
    assert parsed.signature == "Von meinem iPhone gesendet"
    assert parsed.quoted_text.startswith("> Am 03.03.2025 um 10:15 schrieb Mitgliederservice")


def test_outlook_english_original_message_separator() -> None:
    parsed = parse_fixture("outlook_en_original_message.eml")

    assert parsed.text == "Hi,\n\nthe invoice number is 2025-17.\n\nKind regards,\nJames"
    assert parsed.quoted_text.startswith("-----Original Message-----\nFrom: Service")


def test_html_reply_quote_in_a_blockquote_is_separated() -> None:
    raw = mail(
        content_type="text/html; charset=utf-8",
        body=(
            "<div>Ja, gerne.</div><div>Am 03.03.2025 um 10:15 schrieb Service:</div>"
            '<blockquote type="cite"><p>Passt Dienstag?</p></blockquote>'
        ),
    )

    parsed = parse_message(raw)

    assert parsed.text == "Ja, gerne."
    assert parsed.quoted_text == "Am 03.03.2025 um 10:15 schrieb Service:\n\n> Passt Dienstag?"


@pytest.mark.parametrize(
    ("body", "text", "quoted", "signature"),
    [
        pytest.param(
            "Danke!\n\nMit freundlichen Grüßen, Anna Müller",
            "Danke!\n\nMit freundlichen Grüßen, Anna Müller",
            "",
            "",
            id="closing-is-no-signature",
        ),
        pytest.param(
            "Danke!\n\nBeste Grüße\nAnna\n\n-- \nAnna Müller\nTel. 0221 123",
            "Danke!\n\nBeste Grüße\nAnna",
            "",
            "-- \nAnna Müller\nTel. 0221 123",
            id="rfc3676",
        ),
        pytest.param(
            "Ok\n--\nJames",
            "Ok",
            "",
            "--\nJames",
            id="delimiter-without-space",
        ),
        pytest.param(
            "Will do.\n\nSent from my iPhone",
            "Will do.",
            "",
            "Sent from my iPhone",
            id="iphone-en",
        ),
        pytest.param(
            "Passt.\n\nGesendet mit der WEB.DE Mail App",
            "Passt.",
            "",
            "Gesendet mit der WEB.DE Mail App",
            id="webde-app",
        ),
        pytest.param(
            "Sure.\n\nGet Outlook for Android",
            "Sure.",
            "",
            "Get Outlook for Android",
            id="outlook-mobile",
        ),
        pytest.param(
            "> Frage 1?\nAntwort 1\n> Frage 2?\nAntwort 2",
            "Antwort 1\n\nAntwort 2",
            "> Frage 1?\n> Frage 2?",
            "",
            id="inline-answers",
        ),
        pytest.param(
            "Hello Bill,\n\nBS> Yep.\n\n\nAgreed.\n > indented quote\nx>5 stays",
            "Hello Bill,\n\nAgreed.\n\nx>5 stays",
            "BS> Yep.\n > indented quote",
            "",
            id="supercite-and-indented",
        ),
        pytest.param(
            "On Mon, Anna wrote:\n> Frage?\n\nMeine Antwort unten.",
            "Meine Antwort unten.",
            "On Mon, Anna wrote:\n> Frage?",
            "",
            id="bottom-posting",
        ),
        pytest.param(
            "Anna Muster <anna@example.de> hat am 03.03.2025 10:15 geschrieben:\n> alt",
            "Anna Muster <anna@example.de> hat am 03.03.2025 10:15 geschrieben:\n> alt",
            "",
            "",
            id="only-quote-keeps-everything",
        ),
        pytest.param(
            "Neu\n\nAnna Muster <anna@example.de> hat am 03.03.2025 10:15 geschrieben:\n> alt",
            "Neu",
            "Anna Muster <anna@example.de> hat am 03.03.2025 10:15 geschrieben:\n> alt",
            "",
            id="lotus-notes-de",
        ),
        pytest.param(
            "Neu\n\n-------- Original-Nachricht --------\nBetreff: alt\nalter Text",
            "Neu",
            "-------- Original-Nachricht --------\nBetreff: alt\nalter Text",
            "",
            id="gmx-separator",
        ),
        pytest.param(
            "Neu\n\n-----Ursprüngliche Nachricht-----\nVon: Service\nalter Text",
            "Neu",
            "-----Ursprüngliche Nachricht-----\nVon: Service\nalter Text",
            "",
            id="outlook-de-separator",
        ),
        pytest.param(
            "Neu\n\n________________________________\nFrom: Service <s@x.de>\n"
            "Sent: Monday\nTo: Anna\nSubject: alt\n\nalter Text",
            "Neu",
            "________________________________\nFrom: Service <s@x.de>\nSent: Monday\nTo: Anna\n"
            "Subject: alt\n\nalter Text",
            "",
            id="outlook-html-rule",
        ),
        pytest.param(
            "Zur Info.\n\n---------- Forwarded message ---------\nFrom: Bank <b@x.de>\n"
            "Date: Mon\nSubject: Konto\nTo: Anna\n\nIhr Kontostand",
            "Zur Info.\n\n---------- Forwarded message ---------\nFrom: Bank <b@x.de>\n"
            "Date: Mon\nSubject: Konto\nTo: Anna\n\nIhr Kontostand",
            "",
            "",
            id="forward-is-no-quote",
        ),
        pytest.param(
            "Ich wohne in der Von-Werth-Straße.\nVon: Montag an bin ich da.",
            "Ich wohne in der Von-Werth-Straße.\nVon: Montag an bin ich da.",
            "",
            "",
            id="von-alone-is-no-header-block",
        ),
    ],
)
def test_split_reply(body: str, text: str, quoted: str, signature: str) -> None:
    split = split_reply(body)

    assert (split.text, split.quoted, split.signature) == (text, quoted, signature)


def test_split_reply_leaves_huge_bodies_whole() -> None:
    body = "> quoted\n" * 30_000

    split = split_reply(body)

    assert split.text == body.strip("\n")
    assert split.quoted == ""


# -- headers -------------------------------------------------------------------------------


def test_message_ids_and_threading_headers_lose_their_angle_brackets() -> None:
    parsed = parse_fixture("outlook_de_reply.eml")

    assert parsed.message_id == "outlook-de-1@example.de"
    assert parsed.in_reply_to == ("ack-123@demo.casework.test",)
    assert parsed.references == ("first-1@example.de", "ack-123@demo.casework.test")


def test_headers_are_all_kept_decoded_and_in_order() -> None:
    parsed = parse_fixture("de_quoted_printable.eml")

    assert [name for name, _ in parsed.headers] == [
        "From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
        "Content-Transfer-Encoding",
    ]  # fmt: skip
    assert ("From", "Jürgen Müller <juergen.mueller@example.de>") in parsed.headers


def test_date_is_timezone_aware() -> None:
    parsed = parse_fixture("de_quoted_printable.eml")

    assert parsed.date == datetime(2025, 3, 3, 10, 15, tzinfo=timezone(timedelta(hours=1)))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Date: Mon, 03 Mar 2025 10:15:00 -0000", datetime(2025, 3, 3, 10, 15, tzinfo=UTC)),
        ("Date: 2025-03-03T10:15:00+01:00", datetime(2025, 3, 3, 9, 15, tzinfo=UTC)),
        ("Date: Mon, 31 Feb 2025 10:15:00 +0100", None),
        ("Date: gestern", None),
        ("Date: Mon, 03 Mar 2025 10:15:00 +9999", None),
    ],
)
def test_odd_dates_are_read_or_dropped(header: str, expected: datetime | None) -> None:
    parsed = parse_message(mail(header))

    assert parsed.date == expected
    if expected is None:
        assert "unparseable Date header" in parsed.defects


def test_missing_date_is_none_without_a_defect() -> None:
    parsed = parse_message(mail())

    assert parsed.date is None
    assert parsed.defects == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Müller, Hans <hans@example.de>", [Address("Müller, Hans", "hans@example.de")]),
        ('"Müller, Hans" <hans@example.de>', [Address("Müller, Hans", "hans@example.de")]),
        ("hans@example.de (Hans Müller)", [Address("Hans Müller", "hans@example.de")]),
        ("MAILER-DAEMON", [Address("MAILER-DAEMON", "")]),
        ("a@x.de, , b@y.de", [Address("", "a@x.de"), Address("", "b@y.de")]),
        ("undisclosed-recipients:;", []),
        (
            "=?utf-8?q?M=C3=BCller=2C_Hans?= <hans@example.de>",
            [Address("Müller, Hans", "hans@example.de")],
        ),
    ],
)
def test_addresses(value: str, expected: list[Address]) -> None:
    parsed = parse_message(mail(f"Cc: {value}"))

    assert list(parsed.cc) == expected


def test_missing_from_gives_an_empty_sender() -> None:
    parsed = parse_message(b"Subject: ohne Absender\n\nText")

    assert parsed.sender == Address("", "")
    assert parsed.reply_to is None
    assert parsed.text == "Text"


def test_folded_subject_is_whitespace_normalised() -> None:
    parsed = parse_message(mail(subject="Eine\n  sehr\tlange\n Betreffzeile "))

    assert parsed.subject == "Eine sehr lange Betreffzeile"


# -- automatic mail ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "is_auto_reply"),
    [
        ("Auto-Submitted: auto-replied", True),
        ("Auto-Submitted: auto-generated", True),
        ("Auto-Submitted: no", False),
        ("Precedence: bulk", True),
        ("Precedence: junk", True),
        ("Precedence: list", True),
        ("Precedence: auto_reply", True),
        ("Precedence: first-class", False),
        ("X-Autoreply: yes", True),
        ("X-Autorespond: Vacation", True),
        ("X-Auto-Response-Suppress: All", True),
        ("X-Auto-Response-Suppress: DR, OOF, AutoReply", True),
        ("X-Auto-Response-Suppress: DR, RN", False),
        ("X-Mailer: Outlook", False),
    ],
)
def test_auto_reply_headers(header: str, is_auto_reply: bool) -> None:
    assert parse_message(mail(header)).is_auto_reply is is_auto_reply


@pytest.mark.parametrize(
    ("subject", "is_auto_reply"),
    [
        ("Abwesenheitsnotiz: Ihre Anfrage", True),
        ("Automatische Antwort: [CW-2025-000123] Ihre Anfrage", True),
        ("AW: Automatische Antwort: Rechnung", True),
        ("Out of Office: Invoice", True),
        ("Out of Office Reply", True),
        ("Automatic reply: Invoice", True),
        ("Autoreply: Ihre Nachricht", True),
        ("Max Mustermann ist außer Haus", True),
        ("Frage zur Abwesenheitsnotiz in Outlook", False),
        ("Meine Rechnung vom März", False),
    ],
)
def test_out_of_office_subjects(subject: str, is_auto_reply: bool) -> None:
    assert parse_message(mail(subject=subject)).is_auto_reply is is_auto_reply


def test_outlook_out_of_office_is_an_auto_reply_but_no_bounce() -> None:
    parsed = parse_fixture("auto_reply_outlook_de.eml")

    assert parsed.is_auto_reply
    assert not parsed.is_bounce
    assert parsed.bounced_message_id == ""


def test_dsn_bounce_names_the_original_from_the_returned_message() -> None:
    parsed = parse_fixture("bounce_dsn_rfc822.eml")

    assert parsed.is_bounce
    assert parsed.is_auto_reply
    assert parsed.bounced_message_id == "ack-123@demo.casework.test"
    assert "550 5.1.1 User unknown" in parsed.text
    assert "Status: 5.1.1" in parsed.text
    assert "---------- Returned message ----------" in parsed.full_text
    assert [attachment.filename for attachment in parsed.attachments] == ["returned-message.eml"]


def test_dsn_bounce_names_the_original_from_returned_headers() -> None:
    parsed = parse_fixture("bounce_dsn_headers.eml")

    assert parsed.is_bounce
    assert parsed.bounced_message_id == "reply-77@demo.casework.test"


def test_plain_text_bounce_names_the_original_from_the_quoted_headers() -> None:
    parsed = parse_fixture("bounce_exim_plain.eml")

    assert parsed.is_bounce
    assert parsed.bounced_message_id == "ack-456@demo.casework.test"
    assert parsed.quoted_text == ""  # a bounce's transcript is not split as a reply


def test_postmaster_writing_an_ordinary_mail_is_no_bounce() -> None:
    parsed = parse_message(mail(sender="postmaster@example.de", body="Wir ziehen um."))

    assert not parsed.is_bounce
    assert not parsed.is_auto_reply


def test_a_message_id_line_in_an_ordinary_mail_is_no_bounce() -> None:
    parsed = parse_message(mail(body="Message-ID: <x@y>\nbitte prüfen"))

    assert not parsed.is_bounce
    assert parsed.bounced_message_id == ""


# -- broken input --------------------------------------------------------------------------


def test_multipart_without_boundary_is_recovered_from_its_body() -> None:
    parsed = parse_fixture("missing_boundary.eml")

    assert parsed.text == "Der Text ist da."
    assert [attachment.filename for attachment in parsed.attachments] == ["liste.csv"]
    assert any("recovered" in defect for defect in parsed.defects)


def test_multipart_whose_boundary_never_appears_keeps_its_text() -> None:
    raw = mail(content_type='multipart/mixed; boundary="nie"', body="Nur Text.\n")

    parsed = parse_message(raw)

    assert parsed.text == "Nur Text."
    assert "multipart boundary never found in the body" in parsed.defects


def test_parts_after_a_boundary_reused_by_a_nested_multipart_are_recovered() -> None:
    raw = mail(
        content_type='multipart/mixed; boundary="b"',
        body=(
            '--b\nContent-Type: multipart/alternative; boundary="b"\n\n'
            "--b\nContent-Type: text/plain\n\nHallo\n--b--\n\n"
            '--b\nContent-Type: application/pdf; name="x.pdf"\n\n%PDF\n--b--\n'
        ),
    )

    parsed = parse_message(raw)

    assert "Hallo" in parsed.text
    assert [attachment.filename for attachment in parsed.attachments] == ["x.pdf"]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00" * 100,
        b"\n\n\n",
        b"garbage without any header",
        bytes(range(256)) * 4,
        b"Subject: =?utf-8?B?!!!?= =?x-unknown?Q?=FF=FE?= =?utf-8?q?abc",
        b"Content-Type: multipart/mixed; boundary=\n\n--\n--\n----\n",
        b'Content-Type: text/plain; charset="\n\n\xff\xfe',
        b"Content-Transfer-Encoding: base64\n\n!!!!====a",
        b"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
        b"U3ViamVjdDogaGkKCmJvZHk=",
        b"From: \xff\xfe <\x00@\x00>\nTo: ,,,;;;<<<>>>\nDate: \xff\n\nx",
        b"Content-Type: multipart/mixed\n\n--\xff\xfe\nContent-Type: text/plain\n\n"
        b"x\n--\xff\xfe--\n",
        b'Content-Type: multipart/mixed; boundary="\xc3\xa4"\n\n--\xc3\xa4\n\nx\n'
        b"--\xc3\xa4--\nafter\n--\xc3\xa4\nContent-Type: text/plain\n\nlate\n",
    ],
)
def test_garbage_never_raises(raw: bytes) -> None:
    parsed = parse_message(raw)

    assert isinstance(parsed, ParsedEmail)
    assert_storable(parsed)


def test_nul_bytes_are_removed_from_every_text() -> None:
    parsed = parse_message(mail(subject="Null\x00Byte", body="Text\x00 mit NUL"))

    assert parsed.subject == "NullByte"
    assert parsed.text == "Text mit NUL"
    assert "NUL bytes in the message; removed from the text" in parsed.defects


def test_mbox_separator_and_leading_blank_lines_are_accepted() -> None:
    parsed = parse_message(b"\n\nFrom anna@example.de Mon Mar  3 10:15:00 2025\n" + mail())

    assert parsed.sender == Address("Anna Meyer", "anna@example.de")
    assert parsed.text == "Hallo"


def test_deep_nesting_is_cut_off_with_a_defect() -> None:
    depth = 200
    opening = "".join(
        f'Content-Type: multipart/mixed; boundary="b{level}"\n\n--b{level}\n'
        for level in range(depth)
    )
    closing = "".join(f"\n--b{level}--\n" for level in reversed(range(depth)))
    raw = b"Subject: tief\n" + (opening + "Content-Type: text/plain\n\ninnen" + closing).encode()

    parsed = parse_message(raw)

    assert parsed.subject == "tief"
    assert any("nesting" in defect for defect in parsed.defects)


def test_structure_too_deep_for_the_stdlib_parser_keeps_headers_and_text() -> None:
    raw = b"Subject: Matroschka\n" + b"Content-Type: message/rfc822\n\n" * 3000 + b"innen"

    parsed = parse_message(raw)

    assert parsed.subject == "Matroschka"
    assert parsed.text.endswith("innen")
    assert "MIME structure nested too deeply to parse; the body is kept as text" in parsed.defects


@pytest.mark.parametrize(
    "html",
    [
        pytest.param("<blockquote>x" * 20_000, id="nested-blocks"),
        pytest.param("<div><p>x <b>y</b></p>" * 20_000, id="nested-divs"),
        pytest.param('<a href="x' * 50_000, id="unterminated-attribute"),
        pytest.param("<!--" * 50_000, id="unterminated-comment"),
        pytest.param("<" * 500_000, id="lone-brackets"),
    ],
)
def test_hostile_html_is_handled_in_bounded_time(html: str) -> None:
    raw = mail(content_type="text/html; charset=utf-8", body=html)

    started = time.perf_counter()
    parsed = parse_message(raw)

    assert time.perf_counter() - started < 5  # quadratic behaviour would take minutes
    assert "<script" not in parsed.html


def test_flowed_text_with_many_soft_breaks_is_joined_in_linear_time() -> None:
    raw = mail(content_type="text/plain; format=flowed", body="Wort \n" * 200_000 + "Ende")

    started = time.perf_counter()
    parsed = parse_message(raw)

    assert time.perf_counter() - started < 5
    assert parsed.full_text.startswith("Wort Wort Wort")
    assert parsed.full_text.endswith("Wort Ende")


# -- properties ----------------------------------------------------------------------------

MARKER = "Zebramarker"
CHARSETS = ["utf-8", "iso-8859-1", "windows-1252", "iso-8859-15"]
TRANSFER_ENCODINGS = ["quoted-printable", "base64", "8bit"]
words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöüßÄÖÜ .,\n", max_size=80)


@st.composite
def body_leaves(draw: st.DrawFn) -> EmailMessage:
    part = EmailMessage()
    text = f"{draw(words)} {MARKER} {draw(words)}"
    charset = draw(st.sampled_from(CHARSETS))
    encoding = draw(st.sampled_from(TRANSFER_ENCODINGS))
    if draw(st.booleans()):
        part.set_content(text, subtype="plain", charset=charset, cte=encoding)
    else:
        markup = f"<p>{text.replace(chr(10), '<br>')}</p><script>x()</script>"
        part.set_content(markup, subtype="html", charset=charset, cte=encoding)
    return part


@st.composite
def file_leaves(draw: st.DrawFn) -> EmailMessage:
    part = EmailMessage()
    name = draw(st.sampled_from(["Rechnung.pdf", "Übersicht.xlsx", "a b.png", "", "../x"]))
    part.set_content(
        draw(st.binary(max_size=200)),
        maintype="application",
        subtype=draw(st.sampled_from(["pdf", "octet-stream", "pkcs7-signature"])),
        disposition=draw(st.sampled_from(["attachment", "inline"])),
        filename=name or None,
    )
    return part


def containers(children: st.SearchStrategy[EmailMessage]) -> st.SearchStrategy[EmailMessage]:
    @st.composite
    def build(draw: st.DrawFn) -> EmailMessage:
        kind = draw(st.sampled_from(["mixed", "alternative", "related", "signed", "rfc822"]))
        container = EmailMessage()
        if kind == "rfc822":
            inner = draw(children)
            inner["Subject"] = "innen"
            container.set_content(inner)
            return container
        container["Content-Type"] = f"multipart/{kind}"
        for child in draw(st.lists(children, min_size=1, max_size=3)):
            container.attach(child)
        return container

    return build()


mime_trees = st.recursive(body_leaves() | file_leaves(), containers, max_leaves=8)


def contains_body_text(part: EmailMessage) -> bool:
    if part.get_content_type() == "message/rfc822":
        return any(contains_body_text(inner) for inner in part.iter_parts())
    if part.is_multipart():
        return any(contains_body_text(child) for child in part.iter_parts())
    return part.get_content_maintype() == "text"


PROPERTY_SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY_SETTINGS
@given(
    message=mime_trees,
    subject=st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40),
)
def test_random_mime_trees_parse_and_keep_their_text(message: EmailMessage, subject: str) -> None:
    message["From"] = "Anna Müller <anna@example.de>"
    message["Subject"] = subject

    parsed = parse_message(message.as_bytes())

    assert isinstance(parsed, ParsedEmail)
    assert_storable(parsed)
    assert parsed.sender == Address("Anna Müller", "anna@example.de")
    assert parsed.subject == " ".join(subject.split())
    if contains_body_text(message):
        assert MARKER in parsed.full_text
    assert "<script" not in parsed.html


header_names = st.sampled_from(
    ["From", "To", "Cc", "Subject", "Date", "Message-ID", "References", "In-Reply-To",
     "Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "Auto-Submitted",
     "Reply-To", "X-Garbage"]
)  # fmt: skip
header_values = st.one_of(
    st.binary(max_size=60),
    st.lists(
        st.sampled_from(
            [
                b"=?utf-8?q?",
                b"=?",
                b"?=",
                b"?B?",
                b"<",
                b">",
                b'"',
                b";",
                b",",
                b"@",
                b"=",
                b"boundary=",
                b"charset=",
                b"multipart/mixed",
                b"text/html",
                b"base64",
                b"\xc3",
                b"\xfc",
                b"\x00",
                b"\r",
                b"\n ",
                b"*0*=",
                b"''",
                b"%",
            ]
        ),  # fmt: skip
        max_size=12,
    ).map(b"".join),
)


@PROPERTY_SETTINGS
@given(
    headers=st.lists(st.tuples(header_names, header_values), max_size=12),
    body=st.binary(max_size=300),
)
def test_header_garbage_never_raises(headers: list[tuple[str, bytes]], body: bytes) -> None:
    raw = b"".join(name.encode() + b": " + value + b"\r\n" for name, value in headers)

    parsed = parse_message(raw + b"\r\n" + body)

    assert isinstance(parsed, ParsedEmail)
    assert_storable(parsed)


@PROPERTY_SETTINGS
@given(raw=st.binary(max_size=2000))
def test_random_bytes_never_raise(raw: bytes) -> None:
    parsed = parse_message(raw)

    assert isinstance(parsed, ParsedEmail)
    assert_storable(parsed)
