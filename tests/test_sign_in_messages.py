"""Sign-in messages say how to get unstuck: `local-mcp login`, and device code when no browser appears."""

from __future__ import annotations

from local_mcp.auth.msal_errors import _default_step
from local_mcp.errors import DeviceCodePendingError, DeviceCodePrompt


def test_a_pending_device_sign_in_mentions_local_mcp_login():
    prompt = DeviceCodePrompt("https://microsoft.com/devicelogin", "ABCD-1234", 0.0, "")
    text = str(DeviceCodePendingError(prompt))
    assert "ABCD-1234" in text and "`local-mcp login`" in text


def test_a_time_out_suggests_the_device_code_mode():
    assert "LOCAL_MCP_AUTH_MODE=device_code" in _default_step("timeout")
