"""An article's text as safe HTML for the pages, and as plain text for the index, the
excerpts and the reply field.

Articles are written in a small part of Markdown: paragraphs separated by a blank line,
headings (`#`, `##`, `###`), lists (`- ` or `1. `), `**bold**`, `*italic*`, `` `code` `` and
links `[text](https://…)`. Everything else is text. The text is escaped before any markup
is added, and the result goes through nh3 with a short list of allowed tags, so an
article can never carry a script or an event handler, whoever wrote it.
"""

from __future__ import annotations

import html
import re

import nh3

from casework.knowledge.models import BodyFormat

ALLOWED_TAGS = {"p", "br", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "code", "a"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto", "tel"}

HEADING = re.compile(r"^(#{1,3})\s+(.*)$")
BULLET = re.compile(r"^\s*[-*]\s+(.*)$")
NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")
LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
BOLD = re.compile(r"\*\*(.+?)\*\*")
ITALIC = re.compile(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])")
CODE = re.compile(r"`([^`]+)`")


def render_html(body: str, body_format: str) -> str:
    """The text as sanitised HTML (safe to mark safe in a template)."""
    if body_format == BodyFormat.PLAIN:
        html_text = "".join(
            "<p>" + html.escape(block).replace("\n", "<br>") + "</p>" for block in _blocks(body)
        )
    else:
        html_text = "".join(_markdown_block(block) for block in _blocks(body))
    return nh3.clean(
        html_text,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
    )


def plain_text(body: str, body_format: str) -> str:
    """The text without markup: paragraphs separated by a blank line, list items as "- …",
    links as "text (address)"."""
    if body_format == BodyFormat.PLAIN:
        return "\n\n".join(_blocks(body))
    blocks = []
    for block in _blocks(body):
        lines = []
        for line in block.split("\n"):
            heading = HEADING.match(line)
            bullet = BULLET.match(line)
            if heading:
                line = heading.group(2)
            elif bullet:
                line = "- " + bullet.group(1)
            lines.append(_plain_inline(line.strip()))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _blocks(body: str) -> list[str]:
    text = (body or "").replace("\r\n", "\n").replace("\r", "\n")
    return [block.strip("\n") for block in re.split(r"\n\s*\n", text) if block.strip()]


def _markdown_block(block: str) -> str:
    lines = block.split("\n")
    heading = HEADING.match(lines[0])
    if heading:
        level = len(heading.group(1)) + 1  # the page's h1 is the article's title
        rest = "\n".join(lines[1:])
        return f"<h{level}>{_inline(heading.group(2))}</h{level}>" + (
            _markdown_block(rest) if rest.strip() else ""
        )
    for pattern, tag in ((BULLET, "ul"), (NUMBERED, "ol")):
        items = [pattern.match(line) for line in lines]
        if all(items):
            return (
                f"<{tag}>"
                + "".join(f"<li>{_inline(m.group(1))}</li>" for m in items if m)
                + f"</{tag}>"
            )
    return "<p>" + "<br>".join(_inline(line) for line in lines) + "</p>"


def _inline(text: str) -> str:
    escaped = html.escape(text, quote=True)
    escaped = CODE.sub(r"<code>\1</code>", escaped)
    escaped = LINK.sub(r'<a href="\2">\1</a>', escaped)
    escaped = BOLD.sub(r"<strong>\1</strong>", escaped)
    return ITALIC.sub(r"<em>\1</em>", escaped)


def _plain_inline(text: str) -> str:
    text = LINK.sub(r"\1 (\2)", text)
    text = BOLD.sub(r"\1", text)
    text = ITALIC.sub(r"\1", text)
    return CODE.sub(r"\1", text)
