"""device_handoff.py: a device-code sign-in that outlives the server process that showed its code."""

from __future__ import annotations

import io
import json
import os
import time

import pytest

from local_mcp.auth import device_handoff
from local_mcp.auth.device_handoff import HandoffRecord, handoff_path, read_handoff, write_record
from local_mcp.auth.resource import build_token_request
from local_mcp.errors import DeviceCodePendingError, DeviceCodePrompt, SignInFailedError

GRAPH = "https://graph.example"


def _prompt(code: str = "HAND-OFF1", expires_in: float = 900) -> DeviceCodePrompt:
    return DeviceCodePrompt("https://login.example/device", code, time.time() + expires_in, f"enter {code}")


def _record(settings, state: str = "pending", *, pid: int | None = None, error: str = "") -> None:
    prompt = _prompt()
    write_record(handoff_path(settings), HandoffRecord(prompt, GRAPH, ("User.Read",), pid or os.getpid(), state, error))


@pytest.fixture(autouse=True)
def fast_watch(monkeypatch):
    monkeypatch.setattr(device_handoff, "WATCH_INTERVAL_SECONDS", 0.01)


async def test_the_next_process_shows_the_handed_off_code_and_waits_for_it(make_provider, settings, fake_app):
    device = settings.with_changes(auth_mode="device_code")
    _record(device)
    async with make_provider(s=device) as tokens:
        with pytest.raises(DeviceCodePendingError) as info:
            await tokens.get_token(GRAPH, ["Mail.Read"])  # other scopes: still the one code
        assert info.value.prompt.user_code == "HAND-OFF1"
        pending = tokens.pending_device_flow()
        assert pending is not None and pending.announced  # shown by the earlier process
        _record(device, "done")  # the child stored the tokens
        await tokens.wait_for_device_flow(pending, 30)
    assert fake_app.count("initiate_device_flow") == 0


async def test_a_failed_hand_off_is_reported(make_provider, settings):
    device = settings.with_changes(auth_mode="device_code")
    _record(device)
    async with make_provider(s=device) as tokens:
        with pytest.raises(DeviceCodePendingError):
            await tokens.get_token(GRAPH, ["User.Read"])
        _record(device, "failed", error="The device-code sign-in failed: access_denied.")
        with pytest.raises(SignInFailedError, match="access_denied"):
            await tokens.wait_for_device_flow(tokens.pending_device_flow(), 30)


@pytest.mark.parametrize("why", ["expired", "child gone", "done"])
async def test_a_record_that_is_not_live_starts_a_new_flow(make_provider, settings, fake_app, why):
    device = settings.with_changes(auth_mode="device_code")
    if why == "expired":
        write_record(handoff_path(device), HandoffRecord(_prompt(expires_in=-1), GRAPH, ("User.Read",), os.getpid(), "pending"))
    else:
        _record(device, "done" if why == "done" else "pending", pid=2**22 + 12345 if why == "child gone" else None)
    async with make_provider(s=device) as tokens:
        with pytest.raises(DeviceCodePendingError) as info:
            await tokens.get_token(GRAPH, ["User.Read"])
    assert info.value.prompt.user_code == "ABCD-EFGH"
    assert fake_app.count("initiate_device_flow") == 1


def test_hand_off_gives_the_flow_to_the_child_by_stdin_and_writes_no_secret(settings, monkeypatch):
    started = {}

    class FakeChild:
        pid = 4242

        def __init__(self, args, **kwargs):
            started.update(args=args, kwargs=kwargs)
            self.stdin = io.BytesIO()
            self.stdin.close = lambda: started.setdefault("payload", json.loads(self.stdin.getvalue()))

    monkeypatch.setattr(device_handoff.subprocess, "Popen", FakeChild)
    flow = {"device_code": "device-secret", "user_code": "HAND-OFF1", "expires_at": time.time() + 900}
    request = build_token_request(GRAPH, ["User.Read"])
    assert device_handoff.hand_off(settings, flow, request, _prompt(), None)
    assert started["args"][-2:] == ["-m", "local_mcp.auth.device_handoff"]
    assert started["kwargs"].get("start_new_session") is True  # outlives the client's kill of our group
    assert started["payload"]["flow"]["device_code"] == "device-secret"
    assert started["payload"]["settings"]["authority"] == settings.authority
    on_disk = handoff_path(settings).read_text()
    assert "device-secret" not in on_disk
    record = read_handoff(settings)
    assert record is not None and (record.pid, record.state, record.prompt.user_code) == (4242, "pending", "HAND-OFF1")
    if os.name == "posix":
        assert handoff_path(settings).stat().st_mode & 0o777 == 0o600
