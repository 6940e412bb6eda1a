"""Logging to stderr only, with secrets redacted from every line.

stdout is the MCP protocol stream; nothing may log there. The redaction filter is
a last line of defence: our own code never logs a token or code, but a library
(MSAL, httpx) at DEBUG might.
"""

from __future__ import annotations

import logging
import re
import sys

_PATTERNS = (
    # JWTs (access and id tokens)
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    # name=value / "name": "value" for secret-bearing fields
    re.compile(
        r"""(?i)(["']?(?:access_token|refresh_token|id_token|client_secret|password|device_code|user_code|code|"""
        r"""code_verifier|assertion|authorization)["']?\s*[:=]\s*["']?)(?:Bearer\s+)?[^"'&\s,;}]+"""
    ),
)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    text = _PATTERNS[0].sub(REDACTED, text)
    return _PATTERNS[1].sub(lambda m: m.group(1) + REDACTED, text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        # Tracebacks too, formatted here (a formatter reuses exc_text), so that a handler with
        # another formatter (a library's, pytest's) never prints a token from an exception.
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RedactingFormatter(logging.Formatter):
    """Format first (message, traceback, stack), then redact the whole text: a token in an exception is caught too."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(level: str) -> None:
    """Send every log line to stderr, redacted. Called before the MCP SDK configures anything."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # MSAL's INFO lines include full authorize URLs; keep libraries quieter than us.
    for noisy in ("msal", "httpx", "httpcore", "urllib3", "msal_extensions"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    if level != "DEBUG":  # "Retrying (Retry(total=0 ...))": the error that follows says it better
        logging.getLogger("urllib3").setLevel(logging.ERROR)
