"""Graph's text for a model to read: HTML bodies as plain text, long text cut on a word boundary."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any

MAX_TEXT_CHARS = 8000


def truncate(text: str | None, max_chars: int = MAX_TEXT_CHARS) -> tuple[str, bool]:
    """Text for a model to read: cut at `max_chars` (on a word boundary when possible)."""
    text = text or ""
    if len(text) <= max_chars:
        return text, False
    cut = text[:max_chars]
    space = cut.rfind(" ", max_chars - 200)
    return (cut[:space] if space > 0 else cut).rstrip() + " …", True


class _TextExtractor(HTMLParser):
    _BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "blockquote", "hr"}
    _SKIP = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")
            if tag == "li":
                self.parts.append("- ")
        elif tag == "a":
            self._href = dict(attrs).get("href")
        elif tag in ("td", "th"):
            self.parts.append(" | ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")
        elif tag == "a":
            if self._href and self._href.startswith(("http://", "https://", "mailto:")):
                self.parts.append(f" ({self._href})")
            self._href = None

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def body_text(body: Any) -> tuple[str, bool]:
    """Graph's itemBody ({contentType, content}) as plain text for a model, and whether it was cut."""
    body = body if isinstance(body, Mapping) else {}
    content = str(body.get("content") or "")
    text = html_to_text(content) if str(body.get("contentType") or "").lower() == "html" else content.strip()
    return truncate(text)


def html_to_text(markup: str | None) -> str:
    """Readable plain text from an HTML mail body: blocks become lines, links keep their target."""
    if not markup:
        return ""
    parser = _TextExtractor()
    try:
        parser.feed(markup)
        parser.close()
        text = "".join(parser.parts)
    except Exception:  # malformed markup: strip tags crudely rather than fail the tool
        text = html.unescape(re.sub(r"<[^>]+>", " ", markup))
    text = text.replace("\xa0", " ")
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
