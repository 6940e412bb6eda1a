"""Which OneDrive files get_file shows as text, and their bytes decoded without trusting them."""

from __future__ import annotations

import re

TEXT_EXTENSIONS = frozenset(
    """txt text md markdown rst csv tsv json jsonl ndjson xml yaml yml toml ini cfg conf log properties env
    tex srt vtt svg html htm xhtml css scss less js mjs cjs ts tsx jsx py pyi ipynb java kt kts scala c h cc cpp
    hpp cs fs vb go rs rb php pl swift m mm r sql sh bash zsh ps1 psm1 bat cmd lua dart gradle groovy
    dockerfile makefile gitignore editorconfig""".split()
)
HTML_EXTENSIONS = frozenset({"html", "htm", "xhtml"})
_TEXT_MIME = re.compile(r"^(text/.*|application/(json|xml|javascript|x-sh|sql|x-yaml|yaml|toml)|.*\+(json|xml))$")


def is_text_like(name: str, mime_type: str | None) -> bool:
    lowered = name.lower()
    ext = lowered.rsplit(".", 1)[-1] if "." in lowered else lowered
    return ext in TEXT_EXTENSIONS or bool(mime_type and _TEXT_MIME.match(mime_type.lower()))


def is_html(name: str, mime_type: str | None) -> bool:
    return name.lower().rsplit(".", 1)[-1] in HTML_EXTENSIONS or (mime_type or "").lower() == "text/html"


def decode_text(data: bytes, *, cut: bool) -> str | None:
    """Bytes of a text file as str; None when they look binary. `cut`: the bytes end mid-file."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        if cut and len(data) % 2:
            data = data[:-1]
        return data.decode("utf-16", "replace")
    if b"\x00" in data[:8192]:
        return None
    text = data.decode("utf-8", "replace")
    return text.rstrip("\ufffd") if cut else text  # a cut may end inside a character
