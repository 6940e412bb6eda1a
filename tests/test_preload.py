"""The background preload after initialize: what it loads, that it makes no request, and the switch."""

from __future__ import annotations

import anyio
import pytest

from local_mcp import preload as preload_module
from local_mcp.cli import build_parser
from local_mcp.config import Settings
from local_mcp.graph.client import GraphClient
from local_mcp.tools._runtime import AppState
from tests.graph_fake import tool_server


def test_preload_is_on_by_default_and_turned_off_by_env_or_flag():
    assert Settings.load({}).preload is True
    assert Settings.load({"LOCAL_MCP_PRELOAD": "0"}).preload is False
    args = vars(build_parser().parse_args(["--no-preload"]))
    assert args["preload"] is False
    assert Settings.load({}, overrides={"preload": args["preload"]}).preload is False


async def test_preload_builds_the_graph_stack_and_opens_the_cache_without_any_request(make_provider, settings, graph, fake_app):
    provider = make_provider()
    state = AppState(settings=settings, tokens=provider, graph=GraphClient(settings, provider))
    activity = preload_module.Activity()
    activity.touch()  # a message just arrived: the preloader first waits for quiet
    async with provider:
        done = await preload_module.preload(state, activity)
        assert done == ["graph stack", "graph adapter", "auth stack", "token cache"]
        assert state.graph._adapter is not None and provider._token_cache is not None
        assert provider._app is None  # the MSAL app (which may fetch metadata) is left to the first call
    assert graph.requests == [] and not fake_app.tokens  # no network, no sign-in


async def test_preload_waits_while_messages_keep_arriving(make_provider, settings):
    provider = make_provider()
    state = AppState(settings=settings, tokens=provider, graph=GraphClient(settings, provider))
    activity = preload_module.Activity()
    finished: list[list[str]] = []

    async def run() -> None:
        finished.append(await preload_module.preload(state, activity))

    async with provider, anyio.create_task_group() as group:
        group.start_soon(run)
        for _ in range(8):  # busy for ~0.4 s: nothing is loaded meanwhile
            activity.touch()
            await anyio.sleep(preload_module.QUIET_SECONDS / 2)
            assert state.graph._adapter is None
    assert finished and "graph adapter" in finished[0]


@pytest.mark.parametrize("enabled", [True, False])
async def test_the_server_preloads_only_when_enabled(make_provider, settings, graph, monkeypatch, enabled):
    ran: list[list[str]] = []
    real = preload_module.preload

    async def spy(state, activity=preload_module.ACTIVITY):
        ran.append(await real(state, preload_module.Activity()))

    monkeypatch.setattr(preload_module, "preload", spy)
    monkeypatch.setattr(preload_module, "NO_CLIENT_SECONDS", 0.0)
    server = tool_server(make_provider, settings.with_changes(preload=enabled), graph)
    graph.answer("GET", "/me", {"id": "u1", "displayName": "Adele"})

    result = await call_after_idle(server)  # idle first: the preloader's time
    assert not result.is_error
    assert bool(ran) is enabled


async def call_after_idle(server):
    from mcp import Client

    async with Client(server) as client:
        await anyio.sleep(0.8)
        return await client.call_tool("whoami", {})
