"""Understanding one inbound e-mail: raw bytes in, a `ParsedEmail` out (pure).

`parse_message` is total: it returns a `ParsedEmail` for every input (garbage, empty,
truncated, binary, NUL bytes, broken MIME) and never raises. What was wrong and repaired is
listed in `ParsedEmail.defects`; only an input the standard library cannot parse at all gives
a mostly empty result.

How it reads a mail, and why:

- One parse with the standard library's `email` package and the `compat32` policy, which
  keeps header values as they arrived. `policy.default` turns every header into a structured
  object on access: three to four times slower, and header access itself can raise on
  garbage. Decoding is done here instead, by functions that cannot fail: RFC 2047 encoded
  words (adjacent words joined before decoding, so a character split over two words
  survives), RFC 2231 parameters (continuations, charset and language, the common quoted and
  RFC 2047-in-quotes forms), 8-bit header bytes, transfer encodings (lenient base64, quoted-
  printable, uuencode, misspelt names), and charsets.
- Charsets as browsers read them: iso-8859-1 and us-ascii mean windows-1252; a declared
  utf-8 that is not valid UTF-8 is windows-1252 ("Grüße" from an old Outlook stays "Grüße"),
  unless it is UTF-8 with a few broken bytes (those become U+FFFD);
  a declared Western single-byte charset whose bytes are valid multi-byte UTF-8 is UTF-8;
  unknown labels ("unknown-8bit", "x-user-defined", "default") are guessed (UTF-8, then
  windows-1252); Windows and East Asian labels map to the superset codecs mailers really use
  (ks_c_5601-1987 → cp949, gb2312 → gb18030, shift_jis → cp932).
- The body is a list of segments in MIME order. multipart/alternative gives one segment with
  its text/plain and its text/html; `text` prefers the plain alternative unless it is empty
  or a "your mail client cannot show HTML" placeholder, and extracts text from the HTML
  otherwise (`html_text`). `html` is the sanitised HTML (nh3) for display, with plain
  segments of a mixed mail shown as escaped text between them.
- Everything that is not body text is an `Attachment`: files, inline images (is_inline),
  S/MIME and PGP signatures and encrypted parts, TNEF, calendars. A forwarded message
  (message/rfc822) is kept whole as `forwarded-message.eml` and its text appears in
  `full_text` under a "Forwarded message" marker; its own attachments stay inside the .eml.
- Reply split (`quoting`), auto-reply and bounce recognition work on the decoded result.
"""

from __future__ import annotations

import binascii
import codecs
import hashlib
import html as html_lib
import mimetypes
import re
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.generator import BytesGenerator
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from functools import lru_cache
from io import BytesIO
from typing import NamedTuple
from urllib.parse import unquote, unquote_to_bytes

import nh3

from casework.channels.email.html_text import (
    MAX_BLOCK_DEPTH,
    flatten_deep_nesting,
    html_to_text,
    is_nested_too_deeply,
)
from casework.channels.email.quoting import ReplySplit, split_reply


@dataclass(frozen=True)
class Address:
    """One mailbox from From/To/Cc/Reply-To."""

    name: str  # decoded display name ("" if none)
    address: str  # as written, without <>; "" if unparseable (the text is then in `name`)


@dataclass(frozen=True)
class Attachment:
    """A file, inline image, signature, encrypted part or forwarded message of a mail."""

    filename: str  # decoded and sanitised; generated ("attachment-3.pdf") when the mail has none
    content_type: str  # lower-case "type/subtype"
    content: bytes  # decoded payload; b"" when oversized
    content_id: str  # without <>; "" if none
    is_inline: bool  # an image shown inside the HTML (cid:) or sent with disposition inline
    sha256: str  # hex digest of the decoded payload (also when oversized: identity is kept)
    is_oversized: bool  # larger than max_attachment_bytes: `content` is then b""
    size_bytes: int  # size of the decoded payload


@dataclass(frozen=True)
class ParsedEmail:
    """Everything the e-mail channel needs from one mail; all strings are valid Unicode
    without NUL or other control characters (tab and newline excepted)."""

    message_id: str  # without <>; "" if missing (the caller then derives one from a content hash)
    in_reply_to: tuple[str, ...]  # message ids without <>
    references: tuple[str, ...]
    subject: str  # decoded, whitespace-normalised
    sender: Address  # From (first mailbox); Address("", "") if none/unparseable
    reply_to: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    date: datetime | None  # timezone-aware; None if missing/unparseable
    text: str  # the new part of the message as plain text (quoted history and signature removed)
    quoted_text: str  # the quoted history that was removed from `text` ("" if none)
    signature: str  # the signature block that was removed ("" if none)
    full_text: str  # whole body as plain text, forwarded messages included: search, classification
    html: str  # sanitised HTML for display; "" if the mail has no HTML part
    attachments: tuple[Attachment, ...]
    is_auto_reply: bool  # any automatically sent mail: auto-reply headers, out-of-office, bounce
    is_bounce: bool  # a delivery status notification or a mailer-daemon failure report
    bounced_message_id: str  # for bounces: the Message-ID of the original, "" otherwise
    headers: tuple[tuple[str, str], ...]  # all headers, decoded, in order
    defects: tuple[str, ...]  # human-readable notes about what was wrong and repaired


def parse_message(raw: bytes, *, max_attachment_bytes: int | None = None) -> ParsedEmail:
    """Parse one raw RFC 5322 message. Never raises."""
    try:
        return _Parser(max_attachment_bytes).parse(_as_bytes(raw))
    except Exception as error:  # noqa: BLE001 - the promise is "never raises"
        return _unparseable(raw, error)


# -- limits: bounded work on hostile input -------------------------------------------------

MAX_NESTING = 25  # multipart and message/rfc822 levels
MAX_PARTS = 1000
MAX_HEADERS = 1000
MAX_DEFECTS = 50
MAX_IDS = 200  # References entries kept: the first (thread root) and the newest ones
MAX_ADDRESS_HEADER = 100_000  # characters of one To/Cc/From header read (a 1 MB one takes 1 s)

# -- charsets ----------------------------------------------------------------------------

_CHARSET_ALIASES = {
    "ks_c_5601-1987": "cp949",
    "ks_c_5601-1989": "cp949",
    "ks_c_5601": "cp949",
    "ksc5601": "cp949",
    "ksc_5601": "cp949",
    "euc-kr": "cp949",
    "gb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "cn-gb": "gb18030",
    "big5": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "chinesebig5": "big5hkscs",
    "gb2312_charset": "gb18030",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "tis-620": "cp874",
    "iso-8859-11": "cp874",
    "windows-874": "cp874",
    "iso-8859-8-i": "iso8859-8",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "unicode-1-1-utf-7": "utf-7",
    "utf8": "utf-8",
    "ansi": "cp1252",
    "latin-9": "iso8859-15",
}
# Labels that name no charset at all: guess.
_UNKNOWN_CHARSETS = frozenset(
    {"unknown-8bit", "unknown", "x-unknown", "x-user-defined", "default", "charset", "none"}
    | {"8bit", "7bit", "binary", "text", "plain", "us", "x-ascii"}
)
_WINDOWS_LABEL = re.compile(r"(?:windows|win|cp|x-cp|ms)[-_]?(125[0-8]|874|932|936|949|950)")
# Codecs Python has but mail does not use; decoding with them would be a trick, not a charset.
_REFUSED_CODECS = frozenset(
    {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined", "mbcs", "oem"}
)
# Single-byte Western charsets: if their bytes are valid multi-byte UTF-8, the label is wrong.
_WESTERN_CODECS = frozenset({"cp1252", "iso8859-15", "cp850", "mac-roman", "cp437"})
# Codecs for which ASCII bytes do not mean ASCII text.
_NOT_ASCII_TRANSPARENT = ("utf-16", "utf-32", "utf-7", "iso2022", "hz")
_LATIN1_FALLBACK = "casework-latin1"


def _latin1_for_undefined(error: UnicodeError) -> tuple[str, int]:
    # windows-1252 leaves five bytes undefined; browsers show them as their Latin-1 code points.
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error(_LATIN1_FALLBACK, _latin1_for_undefined)


@lru_cache(maxsize=512)
def _codec_for(label: str) -> str | None:
    """The Python codec for a charset label; None means "guess"."""
    name = label.strip().strip("\"'").strip().lower().split("*", 1)[0]
    if not name or name in _UNKNOWN_CHARSETS:
        return None
    name = _CHARSET_ALIASES.get(name, name)
    windows = _WINDOWS_LABEL.fullmatch(name)
    if windows:
        name = "cp" + windows.group(1)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    codec = info.name.replace("_", "-")
    if codec in _REFUSED_CODECS or not getattr(info, "_is_text_encoding", True):
        return None
    if codec in ("iso8859-1", "latin-1"):
        return "cp1252"
    if codec == "ascii":
        return None
    return codec


def _decode_guessing(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        data = data[3:]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return _mostly_utf8(data) or data.decode("cp1252", _LATIN1_FALLBACK)


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 with a few broken bytes (a name cut in the middle of a character, one stray
    byte) as UTF-8 with replacement characters; None if it is no UTF-8. Text in a single-byte
    charset almost never forms valid multi-byte sequences, so the ratio is telling."""
    text = data.decode("utf-8", "replace")
    broken = text.count("\ufffd")
    valid = len(text) - len(text.encode("ascii", "ignore")) - broken
    return text if valid >= 2 and broken * 2 <= valid else None


def decode_bytes(data: bytes, label: str | None) -> tuple[str, str]:
    """Decode text bytes declared as `label`; returns (text, note on what was repaired)."""
    codec = _codec_for(label) if label else None
    if data.isascii() and not (codec and codec.startswith(_NOT_ASCII_TRANSPARENT)):
        return data.decode("ascii"), ""
    if codec is None:
        text = _decode_guessing(data)
        if label and label.strip().strip("\"'").lower() not in ("us-ascii", "ascii"):
            return text, f"unknown charset {label.strip()[:40]!r}; guessed"
        return text, ("declared us-ascii but has 8-bit bytes; guessed" if label else "")
    if codec == "utf-8":
        try:
            return data.decode("utf-8-sig"), ""
        except UnicodeDecodeError:
            pass
        mostly = _mostly_utf8(data)
        if mostly is not None:
            return mostly, "invalid UTF-8 bytes replaced"
        return (
            data.decode("cp1252", _LATIN1_FALLBACK),
            "declared utf-8 but not valid UTF-8; read as windows-1252",
        )
    if codec in _WESTERN_CODECS or codec.startswith("iso8859"):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return text, f"declared {label!s:.40} but the content is UTF-8"
        if codec == "cp1252":
            return data.decode("cp1252", _LATIN1_FALLBACK), ""
    try:
        return data.decode(codec), ""
    except (UnicodeDecodeError, LookupError):
        pass
    try:
        return data.decode("utf-8"), f"declared {label!s:.40} but the content is UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode(codec, "replace"), f"invalid {label!s:.40} bytes replaced"
    except LookupError:  # pragma: no cover - _codec_for only returns known codecs
        return _decode_guessing(data), f"unknown charset {label!s:.40}; guessed"


# -- transfer encodings --------------------------------------------------------------------

_IDENTITY_ENCODINGS = frozenset({"", "7bit", "8bit", "binary"})
_SLOPPY_IDENTITY = frozenset(
    {"7-bit", "8-bit", "8bits", "7bits", "none", "plain", "text", "ascii", "us-ascii"}
)
_BASE64_NAMES = frozenset({"base64", "base-64", "b64", "x-base64"})
_QP_NAMES = frozenset({"quoted-printable", "quoted_printable", "quotedprintable", "qp"})
_UU_NAMES = frozenset({"x-uuencode", "uuencode", "x-uue", "uue", "x-uu"})
_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_NOT_BASE64 = bytes(byte for byte in range(256) if byte not in _BASE64_ALPHABET)


def _transfer_encoding(value: str) -> str:
    value = value.strip().lower()
    for separator in (";", " ", "\t"):
        value = value.split(separator, 1)[0]
    return value.strip("\"'")


def _decode_base64(data: bytes) -> tuple[bytes, str]:
    try:
        return binascii.a2b_base64(data), ""
    except binascii.Error:
        pass
    cleaned = data.translate(None, _NOT_BASE64)
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]  # a single leftover character carries no whole byte
    cleaned += b"=" * (-len(cleaned) % 4)
    note = "base64 with bad padding or length; decoded what was there"
    try:
        return binascii.a2b_base64(cleaned), note
    except binascii.Error:  # pragma: no cover - a cleaned, padded alphabet always decodes
        return b"", "undecodable base64"


def _decode_uu(data: bytes) -> tuple[bytes, str]:
    out: list[bytes] = []
    started = False
    for line in data.splitlines():
        if not started:
            started = line.startswith(b"begin ")
            continue
        if line.strip() == b"end":
            break
        if not line.strip():
            continue
        try:
            out.append(binascii.a2b_uu(line))
        except binascii.Error:
            # Broken encoders pad lines wrongly; the length byte says how much is data.
            length = (((line[0] - 32) & 63) * 4 + 5) // 3
            try:
                out.append(binascii.a2b_uu(line[:length]))
            except binascii.Error:
                return b"".join(out), "broken uuencode line; decoded up to it"
    if not started:
        return data, ("declared uuencode without a begin line; kept as is" if data.strip() else "")
    return b"".join(out), ""


# -- headers -------------------------------------------------------------------------------

_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,75})\?([bBqQ])\?([^?]*)\?=")
_ANGLE_ID = re.compile(r"<([^<>\s]{1,500})>")
_WHITESPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_CONTROL_TABLE = {code: None for code in [*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F]}


def _unfold(value: str) -> str:
    if "\n" in value or "\r" in value:
        value = value.replace("\r", "").replace("\n", "")
    return value


def _clean(text: str) -> str:
    """Valid Unicode without NUL or other control characters (tab and newline kept)."""
    if _CONTROL.search(text):
        text = text.translate(_CONTROL_TABLE)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _clean_header(text: str) -> str:
    text = _clean(text)
    if "\t" in text or "\n" in text:
        text = text.replace("\t", " ").replace("\n", " ")
    return text


def _raw_bytes(value: str) -> bytes:
    try:
        return value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")


def _normalise_space(value: str) -> str:
    return _WHITESPACE.sub(" ", value).strip()


# -- MIME parameters (Content-Type, Content-Disposition) -----------------------------------

_MEDIA_TYPE = re.compile(
    r"\s*([!#$%&'*+.^_`|~0-9A-Za-z-]{1,127})\s*/\s*([!#$%&'*+.^_`|~0-9A-Za-z-]{1,127})"
)
_PARAM_NAME = re.compile(r"([^=*\s]+)(?:\*(\d{1,3}))?(\*)?\s*$")


def _split_params(value: str) -> list[str]:
    """Split a header value at semicolons outside quoted strings."""
    pieces = value.split(";")
    if '"' not in value:
        return pieces
    joined: list[str] = []
    open_pieces: list[str] = []  # pieces inside a quoted string so far
    for piece in pieces:
        open_pieces.append(piece)
        quotes = piece.count('"') - piece.count('\\"')
        if quotes % 2 == 1:
            if len(open_pieces) == 1:
                continue  # a quote opens here
        elif len(open_pieces) > 1:
            continue  # still inside the quote
        joined.append(";".join(open_pieces))
        open_pieces = []
    if open_pieces:
        joined.append(";".join(open_pieces))  # an unbalanced quote runs to the end
    return joined


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value.strip('"')


def _parse_params(value: str) -> tuple[str, dict[str, str]]:
    """(first token lower-cased, {parameter: decoded value}); RFC 2231 continuations,
    charsets and languages are resolved."""
    pieces = _split_params(value)
    head = pieces[0].strip().lower()
    simple: dict[str, str] = {}
    extended: dict[str, dict[int, tuple[str, bool]]] = {}
    for piece in pieces[1:]:
        name, separator, raw_value = piece.partition("=")
        if not separator:
            continue
        match = _PARAM_NAME.match(name.strip())
        if match is None:
            continue
        key = match.group(1).lower()
        if match.group(2) is None and match.group(3) is None:
            simple.setdefault(key, _unquote(raw_value))
            continue
        index = int(match.group(2) or 0)
        extended.setdefault(key, {})[index] = (_unquote(raw_value), match.group(3) is not None)
    for key, segments in extended.items():
        simple[key] = _join_rfc2231(segments)
    return head, simple


def _join_rfc2231(segments: dict[int, tuple[str, bool]]) -> str:
    charset = ""
    chunks: list[bytes] = []
    for position, index in enumerate(sorted(segments)):
        text, is_encoded = segments[index]
        if position == 0 and is_encoded and text.count("'") >= 2:
            charset, _language, text = text.split("'", 2)
        chunks.append(unquote_to_bytes(text) if is_encoded else _raw_bytes(text))
    return decode_bytes(b"".join(chunks), charset or None)[0]


# -- the parser ------------------------------------------------------------------------

_DEFECT_NOTES = {
    "NoBoundaryInMultipartDefect": "multipart without a boundary parameter",
    "StartBoundaryNotFoundDefect": "multipart boundary never found in the body",
    "CloseBoundaryNotFoundDefect": "multipart without its closing boundary",
    "FirstHeaderLineIsContinuationDefect": "header block starts with a continuation line",
    "MisplacedEnvelopeHeaderDefect": "mbox 'From ' line inside the header block",
    "MissingHeaderBodySeparatorDefect": "a header line without a colon; the rest is body",
    "MultipartInvariantViolationDefect": "multipart type on a part that is not multipart",
    "InvalidMultipartContentTransferEncodingDefect": "multipart with an encoded transfer encoding",
    "UndecodableBytesDefect": "undecodable bytes",
    "InvalidBase64PaddingDefect": "base64 with bad padding",
    "InvalidBase64CharactersDefect": "base64 with characters outside its alphabet",
    "InvalidBase64LengthDefect": "base64 with a truncated last block",
}
_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_META_CHARSET = re.compile(rb"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]{1,40})", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"\b(?:html|mime)\b", re.IGNORECASE)
_CID_REFERENCE = re.compile(r"cid:([^\"'\s>)]{1,300})", re.IGNORECASE)
_ENRICHED_TAG = re.compile(r"<[^<>]{1,60}>")
_MESSAGE_ID_LINE = re.compile(
    r"^[ \t>]{0,10}message-id:[ \t]{0,10}<?([^\s<>]{1,300})>?", re.I | re.M
)
_FORWARD_TYPES = frozenset({"message/rfc822", "message/global", "message/news"})
_STATUS_TYPES = frozenset(
    {"message/delivery-status", "message/global-delivery-status"}
    | {"message/disposition-notification", "message/global-disposition-notification"}
    | {"message/feedback-report"}
)
_DELIVERY_STATUS_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_HEADER_TYPES = frozenset(
    {"text/rfc822-headers", "message/global-headers", "message/rfc822-headers"}
)
_BODY_TEXT_TYPES = frozenset({"text/plain", "text/html", "text/enriched", "text/richtext"})
_EXTENSIONS = {
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "text/csv": ".csv",
    "text/vcard": ".vcf",
    "text/x-vcard": ".vcf",
    "text/rfc822-headers": ".txt",
    "message/rfc822": ".eml",
    "message/global-headers": ".txt",
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/pjpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "application/octet-stream": ".bin",
    "application/pkcs7-signature": ".p7s",
    "application/x-pkcs7-signature": ".p7s",
    "application/pkcs7-mime": ".p7m",
    "application/x-pkcs7-mime": ".p7m",
    "application/pgp-signature": ".asc",
    "application/pgp-encrypted": ".pgp",
    "application/pgp-keys": ".asc",
    "application/ms-tnef": ".dat",
    "application/vnd.ms-tnef": ".dat",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}
_UNSAFE_FILENAME = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff/\\:*?\"<>|]"
)


@dataclass
class _Segment:
    """One piece of body in MIME order: a plain text, an HTML text, or both alternatives."""

    plain: str | None = None
    html: str | None = None
    plain_is_weak: bool = False  # text/enriched turned into plain: any HTML alternative wins


class _FoundFile(NamedTuple):
    filename: str  # "" when the mail names none
    content_type: str
    content: bytes
    content_id: str
    is_inline: bool  # disposition inline with an image type; cid: references are added later


@dataclass
class _Found:
    """What a walk through the MIME tree collected besides body segments."""

    attachments: list[_FoundFile] = field(default_factory=list)
    forwarded: list[str] = field(default_factory=list)
    report_ids: list[str] = field(default_factory=list)  # originals named in a DSN
    inner_ids: list[str] = field(default_factory=list)  # Message-IDs of attached messages
    has_delivery_status: bool = False


class _Parser:
    def __init__(self, max_attachment_bytes: int | None) -> None:
        self.max_attachment_bytes = max_attachment_bytes
        self.defects: list[str] = []
        self.part_count = 0
        # Old mailers write headers in raw 8-bit in the charset of the body.
        self.header_charset: str | None = None

    def note(self, defect: str) -> None:
        if defect and defect not in self.defects and len(self.defects) < MAX_DEFECTS:
            self.defects.append(defect)

    # -- whole message -------------------------------------------------------------------

    def parse(self, raw: bytes) -> ParsedEmail:
        raw = self._prepare(raw)
        try:
            message = message_from_bytes(raw, policy=compat32)
            is_structured = True
        except RecursionError:
            # The stdlib parser recurses once per nested part; thousands of levels exhaust
            # the stack. The headers still parse, the body is kept as text.
            message = BytesParser(policy=compat32).parsebytes(raw, headersonly=True)
            is_structured = False
            self.note("MIME structure nested too deeply to parse; the body is kept as text")
        self.header_charset = _body_charset(message)
        headers, lookup = self._headers(message)
        if not is_structured:
            del message["content-type"]
            del message["content-transfer-encoding"]

        def first(name: str) -> str:
            values = lookup.get(name)
            return values[0] if values else ""

        subject = _normalise_space(self.decode_header(first("subject")))
        sender_list = self._addresses(lookup.get("from", []))
        sender = sender_list[0] if sender_list else Address("", "")
        reply_to_list = self._addresses(lookup.get("reply-to", []))
        message_ids = _message_ids(first("message-id"))

        found = _Found()
        segments = self._walk(message, 0, found, in_report=False, is_root=True)
        body_text, html, cid_references = self._render(segments)
        full_text = "\n\n".join(piece for piece in [body_text, *found.forwarded] if piece)
        is_bounce = _is_bounce(first, sender, subject, full_text, found.has_delivery_status)
        bounced_message_id = ""
        if is_bounce:
            # A bounce has no reply to split: its transcript's ">>> DATA" lines are no quote.
            split = ReplySplit(body_text, "", "")
            bounced_message_id = _bounced_id(found, full_text, message_ids)
        else:
            split = split_reply(body_text)
        is_auto_reply = is_bounce or _is_auto_reply(first, subject, message)

        return ParsedEmail(
            message_id=message_ids[0] if message_ids else "",
            in_reply_to=_cap_ids(_message_ids(" ".join(lookup.get("in-reply-to", [])))),
            references=_cap_ids(_message_ids(" ".join(lookup.get("references", [])))),
            subject=_clean_header(subject),
            sender=sender,
            reply_to=reply_to_list[0] if reply_to_list else None,
            to=tuple(self._addresses(lookup.get("to", []))),
            cc=tuple(self._addresses(lookup.get("cc", []))),
            date=self._date(first("date")),
            text=_clean(split.text),
            quoted_text=_clean(split.quoted),
            signature=_clean(split.signature),
            full_text=_clean(full_text),
            html=_clean(html),
            attachments=self._attachments(found, cid_references),
            is_auto_reply=is_auto_reply,
            is_bounce=is_bounce,
            bounced_message_id=_clean_header(bounced_message_id),
            headers=tuple(headers),
            defects=tuple(_clean_header(defect) for defect in self.defects),
        )

    def _prepare(self, raw: bytes) -> bytes:
        if raw.startswith(codecs.BOM_UTF8):
            raw = raw[3:]
        stripped = raw.lstrip(b" \t\r\n")
        if len(stripped) != len(raw) and stripped:
            self.note("blank lines before the header block removed")
        if b"\x00" in stripped:
            self.note("NUL bytes in the message; removed from the text")
        return stripped

    def _headers(self, message: Message) -> tuple[list[tuple[str, str]], dict[str, list[str]]]:
        headers: list[tuple[str, str]] = []
        lookup: dict[str, list[str]] = {}
        for index, (name, value) in enumerate(message.raw_items()):
            if index >= MAX_HEADERS:
                self.note(f"more than {MAX_HEADERS} header lines; the rest ignored")
                break
            clean_name = _clean_header(str(name)).strip()
            raw_value = str(value)
            headers.append((clean_name, _clean_header(self.decode_header(raw_value))))
            lookup.setdefault(clean_name.lower(), []).append(raw_value)
        return headers, lookup

    # -- header decoding -----------------------------------------------------------------

    def decode_header(self, value: str) -> str:
        return self.decode_words(self.eight_bit(_unfold(value))).strip()

    def eight_bit(self, value: str) -> str:
        """Header text with raw 8-bit bytes (kept by the parser as surrogates) decoded:
        UTF-8 (RFC 6532) if valid, else the charset the body declares, else windows-1252."""
        if value.isascii():
            return value
        data = _raw_bytes(value)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        text = _mostly_utf8(data)
        if text is not None:
            self.note("invalid UTF-8 bytes in a header replaced")
            return text
        self.note("8-bit header bytes that are not UTF-8; read in the body's charset")  # or cp1252
        if self.header_charset is not None:
            try:
                return data.decode(self.header_charset)
            except UnicodeDecodeError:
                pass
        return data.decode("cp1252", _LATIN1_FALLBACK)

    def decode_words(self, value: str) -> str:
        """Decode RFC 2047 encoded words, also the non-conforming ones mailers send (inside
        quotes, glued to text, split in the middle of a character)."""
        if "=?" not in value:
            return value
        pieces: list[str] = []
        position = 0
        pending_charset: str | None = None
        pending = bytearray()

        def flush() -> None:
            if pending_charset is not None:
                text, note = decode_bytes(bytes(pending), pending_charset)
                self.note(f"encoded word: {note}" if note else "")
                pieces.append(text)

        for match in _ENCODED_WORD.finditer(value):
            charset = match.group(1).split("*", 1)[0].lower()
            data = _decode_word(match.group(2), match.group(3))
            between = value[position : match.start()]
            if pending_charset is not None and not between.strip():
                if charset == pending_charset:
                    pending.extend(data)
                    position = match.end()
                    continue
                flush()
            else:
                flush()
                pieces.append(between)
            pending_charset, pending = charset, bytearray(data)
            position = match.end()
        flush()
        pieces.append(value[position:])
        return "".join(pieces)

    def _addresses(self, values: list[str]) -> list[Address]:
        if not values:
            return []
        if any(len(value) > MAX_ADDRESS_HEADER for value in values):
            self.note(f"address header longer than {MAX_ADDRESS_HEADER:,} characters; cut")
            values = [value[:MAX_ADDRESS_HEADER] for value in values]
        try:
            pairs = getaddresses([self.eight_bit(_unfold(value)) for value in values])
        except Exception:  # noqa: BLE001 - the stdlib address parser has raised on garbage
            self.note("unparseable address header")
            return []
        addresses: list[Address] = []
        carried = ""
        for raw_name, raw_address in pairs:
            name = _normalise_space(self.decode_words(raw_name)).strip("\"' ")
            address = raw_address.strip().strip("<>").strip()
            if "=?" in address:
                address = self.decode_words(address)
            if not _is_mailbox(address):
                # "Müller, Hans <h@example.de>" unquoted splits at the comma: carry the piece
                if address and not name:
                    carried = f"{carried}, {address}" if carried else address
                elif name or address:
                    addresses.append(Address(_clean_header(name or address), ""))
                continue
            if carried and name:
                name = f"{carried}, {name}"
            elif carried:
                addresses.append(Address(_clean_header(carried), ""))
            carried = ""
            addresses.append(Address(_clean_header(name), _clean_header(address)))
        if carried:
            addresses.append(Address(_clean_header(carried), ""))
        return addresses

    def _date(self, value: str) -> datetime | None:
        text = _normalise_space(self.eight_bit(_unfold(value)))
        if not text:
            return None
        parsed: datetime | None
        try:
            parsed = parsedate_to_datetime(text)
        except Exception:  # noqa: BLE001 - ValueError, TypeError, OverflowError, IndexError
            parsed = _iso_date(text)
        if parsed is None:
            self.note("unparseable Date header")
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed

    # -- MIME tree -----------------------------------------------------------------------

    def _walk(
        self, part: Message, depth: int, found: _Found, *, in_report: bool, is_root: bool
    ) -> list[_Segment]:
        self.part_count += 1
        if self.part_count > MAX_PARTS:
            self.note(f"more than {MAX_PARTS} MIME parts; the rest ignored")
            return []
        if depth > MAX_NESTING:
            self.note(f"MIME nesting deeper than {MAX_NESTING} levels; inner parts ignored")
            return []
        for defect in getattr(part, "defects", ()):
            name = type(defect).__name__
            self.note(_DEFECT_NOTES.get(name, name))
        headers = _part_headers(part)
        content_type, params = _content_type(
            part, self.eight_bit(_unfold(headers.get("content-type", "")))
        )
        payload = _raw_payload(part)

        if content_type in _FORWARD_TYPES:
            return self._forwarded(part, headers, depth, found, in_report=in_report)
        if content_type in _STATUS_TYPES:
            found.has_delivery_status |= content_type in _DELIVERY_STATUS_TYPES
            return [_Segment(plain=self._status_text(part))]
        if isinstance(payload, list):
            if content_type.startswith("message/"):
                self._attach_message(part, headers, content_type, found)
                return []
            children = payload + self._parts_after_close(part, params.get("boundary", ""))
            return self._multipart(children, content_type, params, depth, found, in_report)
        if content_type.startswith("multipart/"):
            recovered = self._recover_multipart(payload, content_type)
            if recovered is not None:
                return self._walk(recovered, depth + 1, found, in_report=in_report, is_root=False)
            self.note(f"{content_type} without usable parts; read as text")
            content_type = "text/plain"
        return self._leaf(part, headers, content_type, params, found, in_report, is_root)

    def _multipart(
        self,
        children: list[Message],
        content_type: str,
        params: dict[str, str],
        depth: int,
        found: _Found,
        in_report: bool,
    ) -> list[_Segment]:
        subtype = content_type.partition("/")[2]
        if subtype == "report":
            in_report = True
            if params.get("report-type", "").lower() == "delivery-status":
                found.has_delivery_status = True
        walked = [
            self._walk(child, depth + 1, found, in_report=in_report, is_root=False)
            for child in children
            if isinstance(child, Message)
        ]
        if subtype != "alternative":
            return [segment for segments in walked for segment in segments]
        # RFC 2046: alternatives in increasing order of preference; the last of each kind wins.
        plain: _Segment | None = None
        rich: _Segment | None = None
        for segments in walked:
            merged = _merge(segments)
            if merged is None:
                continue
            # text/plain beats text/enriched whatever their order
            is_better_plain = plain is None or plain.plain_is_weak or not merged.plain_is_weak
            if merged.plain is not None and is_better_plain:
                plain = merged
            if merged.html is not None:
                rich = merged
        if plain is None and rich is None:
            return []
        return [
            _Segment(
                plain=plain.plain if plain else None,
                html=rich.html if rich else None,
                plain_is_weak=plain.plain_is_weak if plain else False,
            )
        ]

    def _leaf(
        self,
        part: Message,
        headers: dict[str, str],
        content_type: str,
        params: dict[str, str],
        found: _Found,
        in_report: bool,
        is_root: bool,
    ) -> list[_Segment]:
        data = self._payload(part, headers)
        disposition, disposition_params = _parse_params(
            self.eight_bit(_unfold(headers.get("content-disposition", "")))
        )
        filename = self._filename(disposition_params, params)
        if content_type in _BODY_TEXT_TYPES and (
            is_root or (disposition != "attachment" and not filename)
        ):
            charset = params.get("charset") or None
            if content_type == "text/html" and charset is None:
                charset = _meta_charset(data)
            text, note = decode_bytes(data, charset)
            self.note(f"{content_type}: {note}" if note else "")
            text = _normalise_newlines(text)
            if not text.strip():
                return []
            if content_type == "text/html":
                return [_Segment(html=text)]
            if content_type != "text/plain":
                return [_Segment(plain=_ENRICHED_TAG.sub("", text), plain_is_weak=True)]
            if params.get("format", "").lower() == "flowed":
                text = _unflow(text, delete_space=params.get("delsp", "").lower() == "yes")
            return [_Segment(plain=text)]
        if in_report and content_type in _HEADER_TYPES:
            text = decode_bytes(data, params.get("charset"))[0]
            found.report_ids.extend(_MESSAGE_ID_LINE.findall(text[:100_000])[:1])
        content_id = _content_id(headers.get("content-id", ""))
        is_inline = disposition == "inline" and content_type.startswith("image/")
        found.attachments.append(_FoundFile(filename, content_type, data, content_id, is_inline))
        return []

    def _payload(self, part: Message, headers: dict[str, str]) -> bytes:
        payload = _raw_payload(part)
        if not isinstance(payload, str):
            return b""
        data = _raw_bytes(payload)
        encoding = _transfer_encoding(headers.get("content-transfer-encoding", ""))
        if encoding in _IDENTITY_ENCODINGS:
            return data
        if encoding in _BASE64_NAMES:
            decoded, note = _decode_base64(data)
        elif encoding in _QP_NAMES:
            decoded, note = binascii.a2b_qp(data), ""
        elif encoding in _UU_NAMES:
            decoded, note = _decode_uu(data)
        else:
            decoded = data
            if encoding in _SLOPPY_IDENTITY:
                note = f"transfer encoding {encoding!r} read as 8bit"
            else:
                note = f"unknown transfer encoding {encoding[:40]!r}; kept as is"
        self.note(note)
        return decoded

    def _filename(self, disposition_params: dict[str, str], type_params: dict[str, str]) -> str:
        name = disposition_params.get("filename") or type_params.get("name") or ""
        if not name:
            return ""
        if "=?" in name:
            name = self.decode_words(name)
        elif "%" in name and _PERCENT_ESCAPE.search(name):
            # filename="M%C3%BCller.pdf": RFC 2231 encoding without its asterisk
            name = decode_bytes(unquote_to_bytes(name), "utf-8")[0]
        return _safe_filename(name)

    def _forwarded(
        self, part: Message, headers: dict[str, str], depth: int, found: _Found, *, in_report: bool
    ) -> list[_Segment]:
        inner = self._inner_message(part, headers)
        if inner is None:
            return []
        label = "Returned message" if in_report else "Forwarded message"
        _, disposition_params = _parse_params(
            self.eight_bit(_unfold(headers.get("content-disposition", "")))
        )
        _, type_params = _parse_params(self.eight_bit(_unfold(headers.get("content-type", ""))))
        filename = self._filename(disposition_params, type_params)
        if not filename:
            filename = "returned-message.eml" if in_report else "forwarded-message.eml"
        content_id = _content_id(headers.get("content-id", ""))
        found.attachments.append(
            _FoundFile(filename, "message/rfc822", _flatten(inner), content_id, is_inline=False)
        )
        inner_headers = _part_headers(inner)
        inner_ids = _message_ids(inner_headers.get("message-id", ""))
        if inner_ids:
            found.inner_ids.append(inner_ids[0])
            if in_report:
                found.report_ids.append(inner_ids[0])
        inner_found = _Found()
        segments = self._walk(inner, depth + 1, inner_found, in_report=False, is_root=True)
        text, _html, _cids = self._render(segments, with_html=False)
        lines = [f"---------- {label} ----------"]
        for name, shown in (
            ("from", "From"),
            ("date", "Date"),
            ("subject", "Subject"),
            ("to", "To"),
        ):
            if name in inner_headers:
                lines.append(
                    f"{shown}: {_normalise_space(self.decode_header(inner_headers[name]))}"
                )
        section = "\n".join(lines)
        body = "\n\n".join(piece for piece in [text, *inner_found.forwarded] if piece)
        found.forwarded.append(f"{section}\n\n{body}" if body else section)
        return []

    def _inner_message(self, part: Message, headers: dict[str, str]) -> Message | None:
        payload = _raw_payload(part)
        inner = payload[0] if isinstance(payload, list) and payload else None
        if not isinstance(inner, Message):
            data = self._payload(part, headers)
            return message_from_bytes(data, policy=compat32) if data.strip() else None
        encoding = _transfer_encoding(headers.get("content-transfer-encoding", ""))
        if encoding in _BASE64_NAMES or encoding in _QP_NAMES:
            # Not allowed for message/rfc822, but sent: the parser read the encoded text as a
            # message without headers. Decode it and parse again.
            self.note(f"message/rfc822 with transfer encoding {encoding}; decoded")
            encoded = _flatten(inner)
            data = (
                _decode_base64(encoded)[0]
                if encoding in _BASE64_NAMES
                else binascii.a2b_qp(encoded)
            )
            return message_from_bytes(data, policy=compat32)
        return inner

    def _attach_message(
        self, part: Message, headers: dict[str, str], content_type: str, found: _Found
    ) -> None:
        payload = _raw_payload(part)
        inner_messages = payload if isinstance(payload, list) else []
        content = b"".join(
            _flatten(inner) for inner in inner_messages if isinstance(inner, Message)
        )
        _, disposition_params = _parse_params(
            self.eight_bit(_unfold(headers.get("content-disposition", "")))
        )
        filename = self._filename(disposition_params, {})
        content_id = _content_id(headers.get("content-id", ""))
        found.attachments.append(
            _FoundFile(filename, content_type, content, content_id, is_inline=False)
        )

    def _status_text(self, part: Message) -> str:
        """message/delivery-status and friends: header-like blocks shown as text."""
        payload = _raw_payload(part)
        blocks = payload if isinstance(payload, list) else []
        lines: list[str] = []
        for block in blocks:
            if not isinstance(block, Message):
                continue
            for name, value in block.raw_items():
                lines.append(f"{name}: {_normalise_space(self.decode_header(str(value)))}")
            rest = _raw_payload(block)
            if isinstance(rest, str) and rest.strip():
                lines.append(_normalise_newlines(decode_bytes(_raw_bytes(rest), None)[0]).strip())
            lines.append("")
        if isinstance(payload, str):
            lines.append(_normalise_newlines(decode_bytes(_raw_bytes(payload), None)[0]))
        return "\n".join(lines).strip()

    def _parts_after_close(self, part: Message, boundary: str) -> list[Message]:
        """Parts a broken mailer put after the closing boundary (a nested multipart that
        reused its parent's boundary closes the parent early)."""
        epilogue = part.epilogue
        if not boundary or not isinstance(epilogue, str) or f"--{boundary}" not in epilogue:
            return []
        head = f'Content-Type: multipart/mixed; boundary="{boundary}"\n\n'
        rebuilt = message_from_bytes(_raw_bytes(head + epilogue), policy=compat32)
        parts = _raw_payload(rebuilt)
        if not isinstance(parts, list) or not parts:
            return []
        self.note("parts after the closing boundary recovered")
        return [child for child in parts if isinstance(child, Message)]

    def _recover_multipart(self, payload: object, content_type: str) -> Message | None:
        """A multipart whose boundary is missing or wrong, parsed with the boundary its body
        really uses; or, without any boundary line, its body parsed as one MIME part."""
        if not isinstance(payload, str):
            return None
        boundary = _guess_boundary(payload)
        if boundary is not None:
            head = f'Content-Type: {content_type}; boundary="{boundary}"\n\n'
            rebuilt = message_from_bytes(_raw_bytes(head + payload), policy=compat32)
            if isinstance(_raw_payload(rebuilt), list) and _raw_payload(rebuilt):
                self.note(f"{content_type}: boundary missing or wrong; recovered from the body")
                return rebuilt
        body = payload.lstrip()
        if body[:8].lower() == "content-":
            self.note(f"{content_type} without boundary lines; its body read as one part")
            return message_from_bytes(_raw_bytes(body), policy=compat32)
        return None

    # -- results -------------------------------------------------------------------------

    def _render(
        self, segments: list[_Segment], *, with_html: bool = True
    ) -> tuple[str, str, frozenset[str]]:
        """(body as plain text, sanitised HTML, cid: references of the HTML)."""
        texts: list[str] = []
        for segment in segments:
            use_plain = segment.plain is not None and not (
                segment.html is not None
                and (segment.plain_is_weak or _is_placeholder(segment.plain))
            )
            if use_plain and segment.plain is not None:
                texts.append(segment.plain.strip("\n"))
            elif segment.html is not None:
                texts.append(html_to_text(segment.html))
        body_text = "\n\n".join(text for text in texts if text.strip())
        if not with_html or not any(segment.html is not None for segment in segments):
            return body_text, "", frozenset()
        pieces = [
            segment.html if segment.html is not None else _plain_as_html(segment.plain or "")
            for segment in segments
        ]
        combined = "\n".join(pieces)
        if is_nested_too_deeply(combined):
            self.note(f"HTML nested more than {MAX_BLOCK_DEPTH} blocks deep; blocks flattened")
            combined = flatten_deep_nesting(combined)
        references = frozenset(
            unquote(reference).strip("<>").lower() for reference in _CID_REFERENCE.findall(combined)
        )
        return body_text, sanitise_html(combined), references

    def _attachments(self, found: _Found, cid_references: frozenset[str]) -> tuple[Attachment, ...]:
        attachments: list[Attachment] = []
        used_names: set[str] = set()
        for number, file in enumerate(found.attachments, start=1):
            filename = file.filename or f"attachment-{number}{_extension(file.content_type)}"
            size = len(file.content)
            is_oversized = (
                self.max_attachment_bytes is not None and size > self.max_attachment_bytes
            )
            is_referenced = bool(file.content_id) and file.content_id.lower() in cid_references
            attachments.append(
                Attachment(
                    filename=_unique(filename, used_names),
                    content_type=file.content_type,
                    content=b"" if is_oversized else file.content,
                    content_id=file.content_id,
                    is_inline=file.is_inline or is_referenced,
                    sha256=hashlib.sha256(file.content).hexdigest(),
                    is_oversized=is_oversized,
                    size_bytes=size,
                )
            )
        return tuple(attachments)


# -- helpers for the walk ------------------------------------------------------------------


def _body_charset(message: Message) -> str | None:
    """The codec of the first text part that declares a charset other than UTF-8."""
    pending = [message]
    for _ in range(20):
        if not pending:
            break
        part = pending.pop(0)
        children = _raw_payload(part)
        if isinstance(children, list):
            pending.extend(child for child in children if isinstance(child, Message))
            continue
        _, params = _parse_params(_unfold(_part_headers(part).get("content-type", "")))
        codec = _codec_for(params["charset"]) if params.get("charset") else None
        if codec is not None and codec != "utf-8":
            return codec
    return None


def _raw_payload(part: Message) -> object:
    """The payload as the parser stored it: a list of parts, or text whose 8-bit bytes are
    kept as surrogates. `Message.get_payload()` would decode such text with the declared
    charset and replace what does not fit, before we could see that the charset is wrong."""
    payload: object = getattr(part, "_payload", None)
    return payload


def _part_headers(part: Message) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in part.raw_items():
        headers.setdefault(str(name).strip().lower(), str(value))
    return headers


def _content_type(part: Message, value: str) -> tuple[str, dict[str, str]]:
    """(lower-case "type/subtype", parameters) of a part's Content-Type header value."""
    if not value.strip():
        # A missing type is the parent's default: text/plain, or message/rfc822 in a digest.
        return part.get_default_type(), {}
    _, params = _parse_params(value)
    match = _MEDIA_TYPE.match(value)
    if match is None:
        return "text/plain", params  # RFC 2045: an invalid Content-Type means text/plain
    return f"{match.group(1)}/{match.group(2)}".lower(), params


def _merge(segments: list[_Segment]) -> _Segment | None:
    """One alternative's segments as one segment (a mixed or related part inside it)."""
    if not segments:
        return None
    if len(segments) == 1:
        return segments[0]
    plains = [segment.plain for segment in segments if segment.plain is not None]
    has_html = any(segment.html is not None for segment in segments)
    html = None
    if has_html:
        html = "\n".join(
            segment.html if segment.html is not None else _plain_as_html(segment.plain or "")
            for segment in segments
        )
    return _Segment(
        plain="\n\n".join(plains) if plains else None,
        html=html,
        plain_is_weak=all(
            segment.plain_is_weak for segment in segments if segment.plain is not None
        ),
    )


def _guess_boundary(text: str) -> str | None:
    """The boundary a multipart body really uses, when its header names none or another one:
    the first "--" line followed by a MIME header, else the first "--" line that repeats."""
    lines = text.splitlines()[:5000]
    seen: dict[str, int] = {}
    for index, line in enumerate(lines):
        if not line.startswith("--") or len(line) > 202:
            continue
        candidate = line[2:].rstrip()
        is_close = candidate.endswith("--") and len(candidate) > 2
        if is_close:
            candidate = candidate[:-2]
        if not candidate or '"' in candidate or "\\" in candidate or not candidate.strip("-"):
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if not is_close and following.lower().startswith("content-"):
            return candidate
        seen[candidate] = seen.get(candidate, 0) + 1
        if seen[candidate] >= 2:
            return candidate
    return None


def _content_id(value: str) -> str:
    value = _clean_header(_unfold(value)).strip()
    match = _ANGLE_ID.search(value)
    return match.group(1) if match else value.strip("<> ")


def _meta_charset(data: bytes) -> str | None:
    match = _META_CHARSET.search(data[:4096])
    return match.group(1).decode("ascii") if match else None


def _normalise_newlines(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.startswith("\ufeff"):
        text = text[1:]
    return text


def _unflow(text: str, *, delete_space: bool) -> str:
    """RFC 3676 format=flowed: join soft line breaks (lines ending in a space)."""
    out: list[str] = []
    pending: list[str] = []  # pieces of a paragraph still being joined
    pending_depth = 0
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing
        if pending and depth != pending_depth:
            out.append(_quote_prefix(pending_depth) + "".join(pending))
            pending = []
        if content.endswith(" ") and content.rstrip() != "--":
            pending.append(content[:-1] if delete_space else content)
            pending_depth = depth
        else:
            pending.append(content)
            out.append(_quote_prefix(depth) + "".join(pending))
            pending = []
    if pending:
        out.append(_quote_prefix(pending_depth) + "".join(pending))
    return "\n".join(out)


def _quote_prefix(depth: int) -> str:
    return ">" * depth + " " if depth else ""


def _is_placeholder(plain: str) -> bool:
    """An empty text/plain alternative, or one that only says to look at the HTML."""
    stripped = plain.strip()
    return not stripped or (len(stripped) < 300 and _PLACEHOLDER.search(stripped) is not None)


def _plain_as_html(text: str) -> str:
    return "<div>" + html_lib.escape(text.strip("\n")).replace("\n", "<br>\n") + "</div>"


def _flatten(message: Message) -> bytes:
    out = BytesIO()
    with suppress(Exception):  # a broken inner message still yields what was written
        BytesGenerator(out, mangle_from_=False, policy=compat32).flatten(message)
    return out.getvalue()


def _safe_filename(name: str) -> str:
    name = name.replace("\\", "/").rsplit("/", 1)[-1]  # "C:\Users\anna\Rechnung.pdf"
    name = _UNSAFE_FILENAME.sub("_", _clean(name))
    name = _normalise_space(name).strip(" .\ufffd")
    if len(name) > 200:
        stem, dot, extension = name.rpartition(".")
        name = (
            stem[: 190 - len(extension)] + dot + extension
            if dot and len(extension) <= 10
            else name[:200]
        )
    return name


def _extension(content_type: str) -> str:
    extension = _EXTENSIONS.get(content_type)
    if extension is None:
        extension = mimetypes.guess_extension(content_type, strict=False) or ".bin"
    return extension


def _unique(filename: str, used: set[str]) -> str:
    candidate = filename
    stem, dot, extension = filename.rpartition(".")
    if not dot:
        stem, extension = filename, ""
    number = 2
    while candidate.lower() in used:
        candidate = f"{stem}-{number}{dot}{extension}"
        number += 1
    used.add(candidate.lower())
    return candidate


def _decode_word(encoding: str, text: str) -> bytes:
    data = text.encode("utf-8", "surrogateescape")
    if encoding in "bB":
        return _decode_base64(data)[0]
    return binascii.a2b_qp(data, header=True)


def _is_mailbox(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    return bool(at and local and domain) and not any(char.isspace() for char in address)


def _message_ids(value: str) -> list[str]:
    value = _clean_header(_unfold(value))
    ids = _ANGLE_ID.findall(value)
    if not ids:
        ids = [token.strip("<>,;\"'()") for token in value.split() if "@" in token]
    return [identifier for identifier in ids if identifier]


def _cap_ids(ids: list[str]) -> tuple[str, ...]:
    if len(ids) > MAX_IDS:
        ids = [ids[0], *ids[-(MAX_IDS - 1) :]]
    return tuple(ids)


def _iso_date(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        return None


# -- sanitising HTML -----------------------------------------------------------------------

_ALLOWED_TAGS = set(nh3.ALLOWED_TAGS) | {"font"}
_ALLOWED_ATTRIBUTES = {
    "*": {"style", "title", "lang", "dir", "align", "valign", "width", "height", "bgcolor"},
    "a": {"href", "name"},
    "img": {"src", "alt", "border"},
    "font": {"color", "face", "size"},
    "table": {"border", "cellpadding", "cellspacing"},
    "td": {"colspan", "rowspan", "nowrap"},
    "th": {"colspan", "rowspan", "nowrap"},
    "ol": {"start", "type"},
    "blockquote": {"type", "cite"},
}
_STYLE_PROPERTIES = {
    "color", "background-color", "font", "font-family", "font-size", "font-style",
    "font-weight", "text-align", "text-decoration", "text-indent", "text-transform",
    "line-height", "letter-spacing", "white-space", "vertical-align", "direction",
    "margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
    "padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
    "border", "border-top", "border-right", "border-bottom", "border-left",
    "border-color", "border-style", "border-width", "border-collapse", "border-spacing",
    "border-radius", "width", "height", "max-width", "min-width", "max-height",
    "display", "list-style-type",
}  # fmt: skip
# Legacy IE script in CSS (expression(), behavior, -moz-binding) and remote fetches (url()).
_DANGEROUS_STYLE = re.compile(
    r"expression|javascript|vbscript|behavior|binding|url\s*\(|\\|/\*|@import", re.I
)


def _filter_attribute(element: str, attribute: str, value: str) -> str | None:
    if attribute == "style" and _DANGEROUS_STYLE.search(value):
        return None
    return value


_CLEANER = nh3.Cleaner(
    tags=_ALLOWED_TAGS,
    clean_content_tags={"script", "style", "title", "template", "textarea", "select"},
    attributes=_ALLOWED_ATTRIBUTES,
    attribute_filter=_filter_attribute,
    url_schemes={"http", "https", "mailto", "cid", "tel"},
    link_rel="noopener noreferrer",
    set_tag_attribute_values={"a": {"target": "_blank"}},
    filter_style_properties=_STYLE_PROPERTIES,
)


def sanitise_html(html: str) -> str:
    """HTML safe to show in the agent's browser: no script, style blocks, event handlers,
    javascript: URLs, iframes, objects or forms; cid: images and ordinary links stay, links
    open in a new tab with rel="noopener noreferrer". Block elements nested too deeply to
    sanitise in bounded time become line breaks."""
    return _CLEANER.clean(flatten_deep_nesting(html)).strip()


# -- auto-replies and bounces --------------------------------------------------------------

_AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply", "auto-reply"})
_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponder", "x-autogenerated")
_REPLY_PREFIX = re.compile(r"(?:re|aw|antw|fw|fwd|wg)\s?:\s?", re.IGNORECASE)
_AUTO_SUBJECT = re.compile(
    r"(?:automatische antwort|automatic reply|auto(?:matic)?[- ]?(?:reply|response|antwort)"
    r"|autoreply|auto-reply|out of (?:the )?office|out-of-office|abwesenheitsnotiz"
    r"|abwesenheitsnachricht|abwesenheit|abwesend|urlaubsnotiz|vacation reply|ooo\b)",
    re.IGNORECASE,
)
# Lotus Notes puts the person first: "Max Mustermann ist außer Haus".
_AUTO_SUBJECT_ANYWHERE = re.compile(r"ist außer haus|is out of (?:the )?office", re.IGNORECASE)
_DAEMON_LOCAL_PARTS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})
_BOUNCE_WORDS = re.compile(
    r"undeliver|returned mail|returned to sender|delivery status notification"
    r"|delivery (?:has )?failed|delivery failure|mail delivery failed|failure notice"
    r"|could not be delivered|nicht zustellbar|unzustellbar|unzustellbare"
    r"|zustellung fehlgeschlagen|übermittlungsfehler|non[- ]?delivery|permanent error",
    re.IGNORECASE,
)


def _is_auto_reply(first: Callable[[str], str], subject: str, message: Message) -> bool:
    auto_submitted = first("auto-submitted").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return True
    if first("precedence").strip().lower() in _AUTO_PRECEDENCE:
        return True
    for name in _AUTO_HEADERS:
        value = first(name).strip().lower()
        if value and value not in ("no", "false", "0"):
            return True
    suppress = first("x-auto-response-suppress").lower().replace(",", " ").split()
    if "all" in suppress or "oof" in suppress:
        return True
    if message.get_content_type() == "multipart/report":
        return True  # read receipts, feedback reports: sent by machines
    stripped = subject
    for _ in range(5):
        match = _REPLY_PREFIX.match(stripped)
        if match is None:
            break
        stripped = stripped[match.end() :]
    if stripped.startswith("[") and "]" in stripped[:80]:
        stripped = stripped[stripped.index("]") + 1 :].lstrip()
    return bool(_AUTO_SUBJECT.match(stripped) or _AUTO_SUBJECT_ANYWHERE.search(subject))


def _is_bounce(
    first: Callable[[str], str],
    sender: Address,
    subject: str,
    full_text: str,
    has_delivery_status: bool,
) -> bool:
    if has_delivery_status or first("x-failed-recipients").strip():
        return True
    local_part = (sender.address or sender.name).rpartition("@")[0] or sender.address or sender.name
    is_daemon = local_part.strip().lower() in _DAEMON_LOCAL_PARTS or sender.name.lower().startswith(
        ("mail delivery", "mailer-daemon", "mail administrator")
    )
    return is_daemon and bool(
        _BOUNCE_WORDS.search(subject) or _BOUNCE_WORDS.search(full_text[:5000])
    )


def _bounced_id(found: _Found, full_text: str, own_ids: list[str]) -> str:
    for candidate in [*found.report_ids, *found.inner_ids]:
        if candidate and candidate not in own_ids:
            return candidate.strip("<>")
    for match in _MESSAGE_ID_LINE.finditer(full_text[:200_000]):
        candidate = match.group(1).strip("<>")
        if candidate and candidate not in own_ids:
            return candidate
    return ""


# -- the last resort -----------------------------------------------------------------------


def _as_bytes(raw: object) -> bytes:
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    if isinstance(raw, bytearray | memoryview):
        return bytes(raw)
    raise TypeError(f"raw mail must be bytes, not {type(raw).__name__}")


def _unparseable(raw: object, error: Exception) -> ParsedEmail:
    """What is left when the MIME parser gave up: the header block's text and the rest."""
    defect = f"message could not be parsed ({type(error).__name__}); shown as text"
    text = ""
    headers: tuple[tuple[str, str], ...] = ()
    try:
        data = _as_bytes(raw)
        head, _separator, body = data.replace(b"\r\n", b"\n").partition(b"\n\n")
        text = _clean(_normalise_newlines(decode_bytes(body[:1_000_000], None)[0]))
        headers = tuple(
            (_clean_header(name.strip()), _clean_header(value.strip()))
            for name, _colon, value in (
                line.partition(":")
                for line in decode_bytes(head, None)[0].split("\n")[:MAX_HEADERS]
            )
            if _colon and name.strip()
        )
    except Exception:  # noqa: BLE001 - the result must exist even then
        pass
    return ParsedEmail(
        message_id="",
        in_reply_to=(),
        references=(),
        subject="",
        sender=Address("", ""),
        reply_to=None,
        to=(),
        cc=(),
        date=None,
        text=text,
        quoted_text="",
        signature="",
        full_text=text,
        html="",
        attachments=(),
        is_auto_reply=False,
        is_bounce=False,
        bounced_message_id="",
        headers=headers,
        defects=(defect,),
    )
