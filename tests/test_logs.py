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
