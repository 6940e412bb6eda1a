"""No token, refresh token or code survives into a log line."""

from __future__ import annotations

import logging

from local_mcp.logs import RedactingFilter, redact

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZGVsZSJ9.c2lnbmF0dXJl"


def test_redact_removes_jwts_and_secret_fields():
    text = redact(f'Bearer {JWT} {{"refresh_token": "0.AAAb-secret", "code": "abc123"}} device_code=XYZ&x=1')
    assert JWT not in text and "0.AAAb-secret" not in text and "abc123" not in text and "XYZ" not in text
    assert "x=1" in text


def test_filter_rewrites_records(caplog):
    logger = logging.getLogger("test.redaction")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="test.redaction"):
        logger.info("token response %s", {"access_token": JWT})
    assert JWT not in caplog.text
    assert "[redacted]" in caplog.text


def _boom() -> None:
    refresh_token = "0.AAAb-secret-in-a-local"  # noqa: F841 - a secret in the failing frame's text
    raise ValueError(f"token endpoint said refresh_token={refresh_token} and gave {JWT}")


def test_tracebacks_are_formatted_then_redacted():
    import io

    from local_mcp.logs import configure_logging

    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_logging("INFO")
        root.handlers[0].setStream(stream)
        log = logging.getLogger("test.tracebacks")
        try:
            _boom()
        except ValueError:
            log.exception("refresh failed")
            log.warning("again, with the stack", exc_info=True, stack_info=True)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    text = stream.getvalue()
    assert text.count("Traceback (most recent call last)") == 2 and "Stack (most recent call last)" in text
    assert "ValueError: token endpoint said refresh_token=[redacted] and gave [redacted]" in text
    assert JWT not in text and "0.AAAb-secret-in-a-local" not in text


def test_a_foreign_handler_with_the_filter_gets_a_redacted_traceback_too():
    import io

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # the plain stdlib formatter
    handler.addFilter(RedactingFilter())
    log = logging.getLogger("test.foreign")
    log.addHandler(handler)
    log.propagate = False
    try:
        try:
            _boom()
        except ValueError:
            log.error("refresh failed", exc_info=True)
    finally:
        log.removeHandler(handler)
        log.propagate = True
    text = stream.getvalue()
    assert "Traceback" in text and "refresh_token=[redacted]" in text
    assert JWT not in text and "0.AAAb-secret-in-a-local" not in text
