"""Writes in remote mode: the same confirmation rules as stdio, over real Streamable HTTP.

- 2026-07-28 (stateless): the tool answers `input_required`; the client asks the user and calls
  again with the answer and the sealed `requestState`. The two calls land on different
  replicas (tests/integration/replicas.py): a replica continues what another began when both
  have the same LOCAL_MCP_CACHE_KEY (RequestStateSecurity keys), and refuses when the keys
  differ or the retry comes from another user. A refused retry sends nothing.
- A client that cannot ask (no elicitation) gets a refusal; `confirm=true` does not replace the user.
- 2025-11-25 (`mode="legacy"`): stdio asks with `elicitation/create` mid-call, but the SDK's
  stateless HTTP has no back channel for a server-to-client request (and keeps no client
  capabilities between requests), so such a client gets a refusal that says why, unless the
  operator chose LOCAL_MCP_CONFIRM_WRITES=model (then confirm=true counts, as in stdio), or
  LOCAL_MCP_HTTP_SESSIONS=1 (then it is asked mid-call: test_remote_sessions.py).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import ElicitResult

from tests.emulator import Emulator, EmulatorUser
from tests.emulator.obo import ApiRegistration
from tests.graph_fake import accept
from tests.integration.replicas import RoundRobin
from tests.integration.test_remote import API_CLIENT_ID, SECRET, free_port, start_server

pytestmark = pytest.mark.integration

WRITES = {"LOCAL_MCP_ALLOW_WRITES": "1", "LOCAL_MCP_TOOLSETS": "mail"}
SEND = {"to": ["megan@contoso.example", "nick@fabrikam.example"], "subject": "Budget", "body": "Numbers attached."}


class Cluster:
    """Replicas of one public URL (the first port's), started with the given LOCAL_MCP_CACHE_KEY each."""

    def __init__(self, emu: Emulator, root: Path) -> None:
        self.emu, self.root = emu, root
        self.ports = [free_port(), free_port()]
        self.url = f"http://127.0.0.1:{self.ports[0]}/mcp"
        self.api: ApiRegistration = emu.identity.obo.register_api(API_CLIENT_ID, self.url, secret=SECRET)
        self.processes: list[Any] = []

    def start(self, keys: list[str], **env: str) -> None:
        for port, key in zip(self.ports, keys, strict=True):
            self.processes.append(start_server(self.emu, self.root, port, LOCAL_MCP_SERVER_URL=self.url,
                                               LOCAL_MCP_CACHE_KEY=key, **WRITES, **env))

    def log(self, port: int) -> str:
        return (self.root / f"server-{port}.log").read_text(errors="replace")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
            process.wait(10)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with Emulator() as emu:
        made = Cluster(emu, tmp_path)
        try:
            yield made
        finally:
            made.stop()


class SwitchUser(RoundRobin):
    """A balancer that sends the retry of a tools/call with another user's token (a stolen requestState)."""

    def __init__(self, ports: list[int], other_token: str) -> None:
        super().__init__(ports)
        self.other = other_token

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if b'"tools/call"' in request.content and b'"requestState"' in request.content:
            request.headers["Authorization"] = f"Bearer {self.other}"
        return await super().handle_async_request(request)


async def send(cluster: Cluster, balancer: RoundRobin, token: str, *, mode: str = "auto",
               elicitation_callback: Any = None, arguments: dict[str, Any] | None = None) -> tuple[bool, str]:
    http = httpx2.AsyncClient(transport=balancer, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    async with http, Client(streamable_http_client(cluster.url, http_client=http), mode=mode,  # type: ignore[arg-type]
                            elicitation_callback=elicitation_callback) as client:
        result = await client.call_tool("send_message", arguments or SEND)
        return bool(result.is_error), " ".join(getattr(block, "text", "") for block in result.content)


async def refused(call: Any) -> MCPError:
    """The JSON-RPC error a call ends with (the SDK's client raises it inside an exception group)."""
    try:
        await call
    except BaseException as exc:  # noqa: BLE001 - looking for the MCPError inside
        pending: list[BaseException] = [exc]
        while pending:
            current = pending.pop()
            if isinstance(current, MCPError):
                return current
            pending.extend(getattr(current, "exceptions", ()))
        raise
    raise AssertionError("the call succeeded")


def question_of(params: Any) -> str:
    return str(getattr(params, "message", ""))


async def test_a_write_is_sent_only_after_the_user_says_yes_on_any_replica(cluster: Cluster) -> None:
    key = secrets.token_urlsafe(32)
    cluster.start([key, key])
    seen: list[Any] = []
    balancer = RoundRobin(cluster.ports)
    failed, text = await send(cluster, balancer, cluster.api.user_token(), elicitation_callback=accept(seen))
    assert not failed, text
    assert len(seen) == 1
    question = question_of(seen[0])
    assert "megan@contoso.example" in question and '"Budget"' in question
    assert "nick@fabrikam.example (EXTERNAL: fabrikam.example)" in question  # the caller's own domain is known
    assert len(cluster.emu.sent_mail) == 1
    recipients = [r["emailAddress"]["address"] for r in cluster.emu.sent_mail[0]["message"]["toRecipients"]]
    assert recipients == SEND["to"]
    first, retry = balancer.ports_of("tools/call")  # input_required on one replica, continued on the other
    assert first != retry
    assert "tool=send_message status=input_required" in cluster.log(first)
    assert "tool=send_message status=ok" in cluster.log(retry)


async def test_a_declined_write_sends_nothing(cluster: Cluster) -> None:
    key = secrets.token_urlsafe(32)
    cluster.start([key, key])

    async def decline(context: Any, params: Any) -> ElicitResult:
        return ElicitResult(action="decline")

    failed, text = await send(cluster, RoundRobin(cluster.ports), cluster.api.user_token(), elicitation_callback=decline)
    assert failed and "did not confirm" in text
    assert cluster.emu.sent_mail == []


async def test_a_client_that_cannot_ask_gets_a_refusal_even_with_confirm_true(cluster: Cluster) -> None:
    key = secrets.token_urlsafe(32)
    cluster.start([key, key])
    failed, text = await send(cluster, RoundRobin(cluster.ports), cluster.api.user_token(),
                              arguments={**SEND, "confirm": True})
    assert failed and "LOCAL_MCP_CONFIRM_WRITES" in text, text
    assert cluster.emu.sent_mail == []


async def test_request_state_sealed_under_another_key_is_refused(cluster: Cluster) -> None:
    cluster.start([secrets.token_urlsafe(32), secrets.token_urlsafe(32)])
    seen: list[Any] = []
    error = await refused(send(cluster, RoundRobin(cluster.ports), cluster.api.user_token(),
                               elicitation_callback=accept(seen)))
    assert "requestState" in error.error.message
    assert len(seen) == 1  # the user was asked by the first replica; the second cannot read its state
    assert cluster.emu.sent_mail == []


async def test_request_state_of_one_user_does_not_serve_another(cluster: Cluster) -> None:
    key = secrets.token_urlsafe(32)
    cluster.start([key, key])
    emu = cluster.emu
    mallory = EmulatorUser(name="Mallory", email="mallory@contoso.example", oid=str(uuid.uuid4()), tid=emu.user.tid)
    seen: list[Any] = []
    balancer = SwitchUser(cluster.ports, cluster.api.user_token(mallory))
    error = await refused(send(cluster, balancer, cluster.api.user_token(), elicitation_callback=accept(seen)))
    assert "requestState" in error.error.message
    assert len(seen) == 1 and cluster.emu.sent_mail == []


async def test_a_2025_client_is_told_why_it_cannot_be_asked_over_stateless_http(cluster: Cluster) -> None:
    key = secrets.token_urlsafe(32)
    cluster.start([key, key])
    seen: list[Any] = []
    failed, text = await send(cluster, RoundRobin(cluster.ports), cluster.api.user_token(), mode="legacy",
                              elicitation_callback=accept(seen), arguments={**SEND, "confirm": True})
    assert failed and "stateless HTTP" in text and "2026-07-28" in text, text
    assert "LOCAL_MCP_HTTP_SESSIONS=1" in text and "LOCAL_MCP_CONFIRM_WRITES=model" in text, text  # the operator's options
    assert seen == [] and cluster.emu.sent_mail == []


async def test_with_confirm_writes_model_a_2025_client_sends_after_confirm_true(cluster: Cluster) -> None:
    key = secrets.token_urlsafe(32)
    cluster.start([key, key], LOCAL_MCP_CONFIRM_WRITES="model")
    balancer = RoundRobin(cluster.ports)
    failed, text = await send(cluster, balancer, cluster.api.user_token(), mode="legacy")
    assert failed and "confirm=true" in text and "nick@fabrikam.example" in text, text
    assert cluster.emu.sent_mail == []
    failed, text = await send(cluster, balancer, cluster.api.user_token(), mode="legacy",
                              arguments={**SEND, "confirm": True})
    assert not failed, text
    assert len(cluster.emu.sent_mail) == 1
