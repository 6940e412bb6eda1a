"""Remote mode with LOCAL_MCP_HTTP_SESSIONS=1: stateful Streamable HTTP sessions with SSE responses.

A 2025-11-25 client (`mode="legacy"`) is asked with `elicitation/create` in the middle of the
tool call, on the SSE stream of its POST, exactly as on stdio: yes sends, no sends nothing.
A session belongs to the credential that opened it: another user's token with its
`Mcp-Session-Id` gets 404, as if the session did not exist. Progress notifications of a long
call reach the client too. 2026-07-28 clients keep their `input_required` round trip.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import ElicitResult

from tests.emulator import Emulator, EmulatorUser
from tests.emulator.obo import ApiRegistration
from tests.graph_fake import accept
from tests.integration.test_remote import API_CLIENT_ID, SECRET, free_port, start_server

pytestmark = pytest.mark.integration

SEND = {"to": ["megan@contoso.example", "nick@fabrikam.example"], "subject": "Budget", "body": "Numbers attached."}
SSE_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


class Remote:
    """One `local-mcp serve --transport http` process with sessions on, and the emulator behind it."""

    def __init__(self, emu: Emulator, root: Path) -> None:
        self.emu, self.root = emu, root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.api: ApiRegistration = emu.identity.obo.register_api(API_CLIENT_ID, self.url, secret=SECRET)
        self.uploads = root / "uploads"
        self.uploads.mkdir()
        self.process = start_server(emu, root, self.port, LOCAL_MCP_HTTP_SESSIONS="1", LOCAL_MCP_ALLOW_WRITES="1",
                                    LOCAL_MCP_TOOLSETS="mail,files", LOCAL_MCP_UPLOAD_DIRS=str(self.uploads))

    def log(self) -> str:
        return (self.root / f"server-{self.port}.log").read_text(errors="replace")


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[Remote]:
    with Emulator() as emu:
        server = Remote(emu, tmp_path)
        try:
            yield server
        finally:
            server.process.terminate()
            server.process.wait(10)


async def call(remote: Remote, token: str, tool: str, arguments: dict[str, Any], *, mode: str = "legacy",
               elicitation_callback: Any = None, progress: list[float] | None = None) -> tuple[bool, str]:
    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        assert progress is not None
        progress.append(done)

    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
    async with http, Client(streamable_http_client(remote.url, http_client=http), mode=mode,  # type: ignore[arg-type]
                            elicitation_callback=elicitation_callback) as client:
        result = await client.call_tool(tool, arguments, progress_callback=on_progress if progress is not None else None)
        return bool(result.is_error), " ".join(getattr(block, "text", "") for block in result.content)


async def test_a_2025_client_is_asked_mid_call_and_the_mail_is_sent_after_yes(remote: Remote) -> None:
    seen: list[Any] = []
    failed, text = await call(remote, remote.api.user_token(), "send_message", SEND, elicitation_callback=accept(seen))
    assert not failed, text
    assert len(seen) == 1  # one elicitation/create, answered on the same session
    question = str(getattr(seen[0], "message", ""))
    assert "megan@contoso.example" in question and '"Budget"' in question
    assert "nick@fabrikam.example (EXTERNAL: fabrikam.example)" in question
    assert remote.emu.counts["token.obo"] == 1
    assert len(remote.emu.sent_mail) == 1
    recipients = [r["emailAddress"]["address"] for r in remote.emu.sent_mail[0]["message"]["toRecipients"]]
    assert recipients == SEND["to"]
    assert f"user={remote.emu.user.oid} tool=send_message status=ok" in remote.log()  # the audit line still comes


async def test_a_2025_client_that_declines_sends_nothing(remote: Remote) -> None:
    asked: list[Any] = []

    async def decline(context: Any, params: Any) -> ElicitResult:
        asked.append(params)
        return ElicitResult(action="decline")

    failed, text = await call(remote, remote.api.user_token(), "send_message", {**SEND, "confirm": True},
                              elicitation_callback=decline)
    assert failed and "did not confirm" in text, text
    assert len(asked) == 1  # confirm=true from the model did not skip the question
    assert remote.emu.sent_mail == []
    assert "tool=send_message status=error" in remote.log()


async def test_a_2025_client_without_elicitation_is_refused_without_the_stateless_reason(remote: Remote) -> None:
    failed, text = await call(remote, remote.api.user_token(), "send_message", {**SEND, "confirm": True})
    assert failed and "cannot show the user a confirmation question" in text, text
    assert "stateless" not in text
    assert remote.emu.sent_mail == []


async def test_a_2026_client_still_gets_input_required(remote: Remote) -> None:
    seen: list[Any] = []
    failed, text = await call(remote, remote.api.user_token(), "send_message", SEND, mode="auto",
                              elicitation_callback=accept(seen))
    assert not failed, text
    assert len(seen) == 1 and len(remote.emu.sent_mail) == 1
    log = remote.log()
    assert "tool=send_message status=input_required" in log and "tool=send_message status=ok" in log


def sse_message(response: httpx.Response) -> dict[str, Any]:
    """The one JSON-RPC message of an SSE response (`data:` lines)."""
    assert response.headers["content-type"].startswith("text/event-stream"), response.headers
    data = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:") and line[5:].strip()]
    assert len(data) == 1, response.text
    message: dict[str, Any] = json.loads(data[0])
    return message


async def test_another_users_token_cannot_use_a_session(remote: Remote) -> None:
    emu = remote.emu
    adele = remote.api.user_token()
    mallory = remote.api.user_token(EmulatorUser(name="Mallory", email="mallory@contoso.example",
                                                 oid=str(uuid.uuid4()), tid=emu.user.tid))
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {"elicitation": {"form": {}}},
        "clientInfo": {"name": "t", "version": "1"}}}
    whoami = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}}
    send = {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
            "params": {"name": "send_message", "arguments": {**SEND, "confirm": True}}}
    with httpx.Client(timeout=30) as http:
        opened = http.post(remote.url, json=initialize, headers={**SSE_HEADERS, "Authorization": f"Bearer {adele}"})
        assert opened.status_code == 200, opened.text
        session = opened.headers["mcp-session-id"]
        assert sse_message(opened)["result"]["protocolVersion"] == "2025-11-25"

        def post(token: str, body: dict[str, Any]) -> httpx.Response:
            return http.post(remote.url, json=body, headers={
                **SSE_HEADERS, "Authorization": f"Bearer {token}", "Mcp-Session-Id": session,
                "MCP-Protocol-Version": "2025-11-25"})

        assert post(adele, {"jsonrpc": "2.0", "method": "notifications/initialized"}).status_code == 202
        for body in (whoami, send):
            refused = post(mallory, body)
            assert refused.status_code == 404, refused.text
            assert "Session not found" in refused.text
        terminated = http.delete(remote.url, headers={"Authorization": f"Bearer {mallory}", "Mcp-Session-Id": session,
                                                      "MCP-Protocol-Version": "2025-11-25"})
        assert terminated.status_code == 404  # nor end it
        renewed = remote.api.user_token(lifetime=1800)  # the client refreshed Adele's token: the same principal
        assert renewed != adele
        served = post(renewed, whoami)  # the owner's session is untouched, and goes on with the new token
        assert served.status_code == 200, served.text
        text = json.dumps(sse_message(served)["result"])
        assert "adele@contoso.example" in text and "mallory" not in text
    assert emu.sent_mail == []
    assert emu.counts["token.obo"] == 1  # Mallory's token never reached Entra ID as an assertion
    assert adele not in remote.log() and mallory not in remote.log()


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_progress_of_a_long_upload_reaches_the_client(remote: Remote, mode: str) -> None:
    """Stateless JSON responses carry no notifications; a session's SSE stream does, for both protocol eras."""
    size = 5 * 1024 * 1024  # over the 4 MB simple upload: an upload session, one progress step per fragment
    (remote.uploads / "report.bin").write_bytes(b"\x5a" * size)
    seen: list[Any] = []
    progress: list[float] = []
    failed, text = await call(remote, remote.api.user_token(), "upload_file",
                              {"local_path": str(remote.uploads / "report.bin"), "folder": "Documents"},
                              mode=mode, elicitation_callback=accept(seen), progress=progress)
    assert not failed, text
    assert len(seen) == 1 and "upload_session" in text
    assert len(progress) >= 2 and progress == sorted(progress) and progress[-1] == size
