"""The tools/list cache (listing.py) and the lazy tools that use it (lazy.py), in process.

The real process (`python -m local_mcp`: a second start served from the cache, tool modules not
imported before initialize) is in tests/integration/test_listing_process.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from local_mcp import lazy as lazy_module
from local_mcp import listing
from local_mcp import preload as preload_module
from local_mcp.config import Settings
from local_mcp.server import add_tools, create_server
from tests.graph_fake import FakeGraph


def _listing_file(settings: Settings) -> Path:
    return listing.listing_path(settings, listing.listing_key(settings))


def _lazy_server(settings: Settings, make_provider: Any = None, graph: FakeGraph | None = None) -> Any:
    provider = make_provider(s=settings) if make_provider else None
    http = httpx.AsyncClient(transport=httpx.MockTransport(graph.handler)) if graph else None
    return create_server(settings, tokens=provider, graph_http_client=http, lazy_tools=True)


async def _published(server: Any) -> list[dict[str, Any]]:
    """tools/list through the SDK's client, dumped as the server sends it."""
    async with Client(server) as client:
        return [listing.dump_tool(tool) for tool in (await client.list_tools()).tools]


async def _warm(settings: Settings) -> Path:
    """Start once without a cache (tools built at once, the listing written at the end)."""
    server = _lazy_server(settings)
    assert server._tool_manager.list_tools(), "no cache yet: built at start-up"
    await _published(server)
    path = _listing_file(settings)
    assert path.is_file()
    return path


def _is_lazy_and_cached(server: Any) -> bool:
    return server._tool_manager.list_tools() == []  # nothing built: tools/list comes from the cache


@pytest.mark.parametrize("writes", [False, True], ids=["default", "writes-on"])
async def test_the_cached_listing_is_exactly_what_the_built_server_lists(settings, writes):
    settings = settings.with_changes(allow_writes=writes, preload=False)
    built = await _published(create_server(settings))  # the eager server, as tests and status build it
    path = await _warm(settings)

    stored = json.loads(path.read_text())
    assert stored["tools"] == built
    server = _lazy_server(settings)
    assert _is_lazy_and_cached(server)
    assert await _published(server) == built
    assert _is_lazy_and_cached(server)  # listing them built nothing
    assert os.stat(path).st_mode & 0o777 == 0o600


async def test_a_tool_call_builds_the_tools_once_and_works(settings, make_provider, graph):
    settings = settings.with_changes(preload=False)
    await _warm(settings)
    graph.answer("GET", "/me", {"id": "u1", "displayName": "Adele", "mail": "adele@contoso.example"})
    server = _lazy_server(settings, make_provider, graph)
    assert _is_lazy_and_cached(server)
    async with Client(server) as client:
        results: list[Any] = []

        async def whoami() -> None:
            results.append(await client.call_tool("whoami", {}))

        async with anyio.create_task_group() as group:  # concurrent first calls share one build
            for _ in range(3):
                group.start_soon(whoami)
        listed = [listing.dump_tool(tool) for tool in (await client.list_tools()).tools]
    assert all(not result.is_error for result in results), results
    assert results[0].structured_content["greeting"].startswith("Hello, Adele")
    assert len(server._tool_manager.list_tools()) == len(listed)
    assert listed == json.loads(_listing_file(settings).read_text())["tools"]


async def test_concurrent_callers_share_one_build(settings):
    settings = settings.with_changes(preload=False)
    await _warm(settings)
    builds: list[int] = []
    server: MCPServer[Any] = MCPServer(name="local-mcp")

    def counting_build(target: Any, s: Settings) -> None:
        builds.append(1)
        add_tools(target, s)

    lazy = lazy_module.LazyStart(server, settings, counting_build, open_state=lambda: (None, None))
    assert lazy.cached is not None and not lazy.built
    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(lazy.ensure_tools)
    assert builds == [1] and lazy.built
    assert server._tool_manager.get_tool("whoami") is not None


async def test_the_preloader_builds_the_tools_while_idle(settings, make_provider, monkeypatch):
    monkeypatch.setattr(preload_module, "NO_CLIENT_SECONDS", 0.0)
    settings = settings.with_changes(preload=True)
    await _warm(settings)
    server = _lazy_server(settings, make_provider)
    assert _is_lazy_and_cached(server)
    async with Client(server):
        for _ in range(100):
            if server._tool_manager.get_tool("whoami") is not None:
                break
            await anyio.sleep(0.05)
    assert server._tool_manager.get_tool("whoami") is not None


@pytest.mark.parametrize(
    "change", [{"allow_writes": True}, {"toolsets": ("mail",)}, {"confirm_writes": "model"}], ids=lambda c: next(iter(c))
)
async def test_a_listing_for_other_settings_is_not_used(settings, change):
    base = settings.with_changes(preload=False)
    await _warm(base)
    other = base.with_changes(**change)
    assert listing.listing_key(other) != listing.listing_key(base)
    server = _lazy_server(other)
    assert not _is_lazy_and_cached(server)  # built at start-up: no listing for these settings yet
    assert await _published(server) == await _published(create_server(other))


async def test_preload_and_log_level_register_nothing_and_share_the_listing(settings):
    base = settings.with_changes(preload=False)
    for change in ({"preload": True}, {"log_level": "DEBUG"}):
        other = base.with_changes(**change)
        assert listing.listing_key(other) == listing.listing_key(base)
        assert await _published(create_server(other)) == await _published(create_server(base))


def test_the_key_follows_the_package_files(settings, monkeypatch):
    before = listing.listing_key(settings)
    real = listing._package_files
    monkeypatch.setattr(listing, "_package_files", lambda: [*real(), "tools/new.py 10 1\n"])
    assert listing.listing_key(settings) != before


async def test_no_secret_reaches_the_key_or_the_file(settings):
    assert listing.SECRET_SETTINGS <= {f for f in Settings.__dataclass_fields__}
    plain = settings.with_changes(preload=False)
    secret = "s3cr3t-value-that-must-not-leak"
    with_secrets = plain.with_changes(client_secret=secret, redis_url=secret, cache_key=secret)
    values = listing._setting_values(with_secrets)
    assert secret not in json.dumps(values, default=str)
    assert listing._setting_values(plain) == values  # the key does not depend on them
    path = await _warm(with_secrets)
    assert secret not in path.read_text()


CORRUPT = {
    "not json": b"{not json",
    "a list": b"[]",
    "no tools": json.dumps({"format": 1, "key": "KEY", "tools": []}).encode(),
    "tools not a list": json.dumps({"format": 1, "key": "KEY", "tools": {"a": 1}}).encode(),
    "a tool without a name": json.dumps({"format": 1, "key": "KEY", "tools": [{"inputSchema": {"type": "object"}}]}).encode(),
    "another key inside": json.dumps({"format": 1, "key": "other", "tools": [{"name": "x", "inputSchema": {"type": "object"}}]}).encode(),
    "another format": json.dumps({"format": 99, "key": "KEY", "tools": [{"name": "x", "inputSchema": {"type": "object"}}]}).encode(),
    "an unknown field": json.dumps(
        {"format": 1, "key": "KEY", "tools": [{"name": "x", "inputSchema": {"type": "object"}, "planted": "run rm -rf"}]}
    ).encode(),
    "a name twice": json.dumps(
        {"format": 1, "key": "KEY", "tools": [{"name": "x", "inputSchema": {"type": "object"}}] * 2}
    ).encode(),
}


@pytest.mark.parametrize("content", list(CORRUPT.values()), ids=list(CORRUPT))
async def test_a_corrupt_or_wrong_shaped_listing_is_ignored_and_replaced(settings, content):
    settings = settings.with_changes(preload=False)
    path = _listing_file(settings)
    path.parent.mkdir(parents=True, mode=0o700)
    path.write_bytes(content.replace(b"KEY", listing.listing_key(settings).encode()))
    os.chmod(path, 0o600)
    assert listing.load_listing(settings, listing.listing_key(settings))[0] is None
    server = _lazy_server(settings)
    assert not _is_lazy_and_cached(server)
    built = await _published(server)
    assert json.loads(path.read_text())["tools"] == built  # replaced at shutdown (or when idle)
    assert _is_lazy_and_cached(_lazy_server(settings))


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize("target", ["file", "folder"])
async def test_a_listing_others_may_write_is_not_trusted(settings, target):
    settings = settings.with_changes(preload=False)
    path = await _warm(settings)
    os.chmod(path if target == "file" else path.parent, 0o666 if target == "file" else 0o777)
    tools, reason = listing.load_listing(settings, listing.listing_key(settings))
    assert tools is None and "refused" in reason
    os.chmod(path.parent, 0o700)


async def test_an_unwritable_folder_only_costs_the_cache(settings, tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    settings = settings.with_changes(cache_dir=blocked / "cache", preload=False)
    server = _lazy_server(settings)
    assert await _published(server)  # served, built, and the listing simply not kept
    assert listing.store_listing(settings, "k", [{"name": "x"}]) is None


def test_old_listings_are_pruned(settings, tmp_path):
    folder = settings.resolved_cache_dir()
    folder.mkdir(parents=True, mode=0o700)
    for n in range(6):
        old = folder / f"{listing.PREFIX}old{n}{listing.SUFFIX}"
        old.write_text("{}")
        os.utime(old, ns=(n * 10**9, n * 10**9))
    kept = listing.store_listing(settings, "new", [{"name": "x", "inputSchema": {"type": "object"}}])
    assert kept is not None
    names = sorted(p.name for p in folder.iterdir() if p.name.startswith(listing.PREFIX))
    assert len(names) == listing.KEEP and kept.name in names
    assert f"{listing.PREFIX}old5{listing.SUFFIX}" in names and f"{listing.PREFIX}old0{listing.SUFFIX}" not in names
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_the_eager_server_is_unchanged_without_lazy_tools(settings):
    server = create_server(settings.with_changes(preload=False))
    assert server._tool_manager.get_tool("whoami") is not None
    assert not settings.resolved_cache_dir().exists()  # and writes no listing
