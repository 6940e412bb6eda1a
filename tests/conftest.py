"""Shared fixtures: a clean environment, settings pointing at a temp cache, a fake MSAL app."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from local_mcp.auth.tokens import TokenProvider
from local_mcp.config import Settings
from tests.fakes import FakeApp, memory_cache_opener
from tests.graph_fake import FakeGraph


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: runs the real server process against the local emulator")
    config.addinivalue_line("markers", "keyring: needs the throw-away keyring session of tests/keyring/run_with_keyring.sh")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("keyring") and not os.environ.get("LOCAL_MCP_TEST_KEYRING_SESSION"):
        pytest.skip("needs a throw-away keyring session: run it under tests/keyring/run_with_keyring.sh")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    """In CI a keyring test may not skip: a skipped proof is no proof."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and in_ci() and item.get_closest_marker("keyring") and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"keyring test skipped in CI ({reason}); CI must run it for real"


@pytest.fixture(scope="session")
def empty_runtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("no-session-bus")


@pytest.fixture(autouse=True)
def clean_environ(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, empty_runtime_dir: Path) -> None:
    """No LOCAL_MCP_* (or browser) setting leaks from the developer's shell into a test.

    Nor does the developer's keyring: outside tests marked `keyring`, the D-Bus session bus
    is hidden (no DBUS_SESSION_BUS_ADDRESS, an empty XDG_RUNTIME_DIR).
    """
    for name in list(os.environ):
        if name.startswith("LOCAL_MCP_") and not name.startswith("LOCAL_MCP_TEST_"):  # LOCAL_MCP_TEST_*: the harness
            monkeypatch.delenv(name, raising=False)
    for name in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    if request.node.get_closest_marker("keyring") is None:
        monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(empty_runtime_dir))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        authority="https://login.example/tid-1",
        graph_url="https://graph.example/v1.0",
        cache_dir=tmp_path / "cache",
        auth_mode="browser",
        sign_in_timeout=30,
    )


@pytest.fixture
def fake_app() -> FakeApp:
    return FakeApp()


@pytest.fixture
def make_provider(settings: Settings, fake_app: FakeApp, tmp_path: Path):
    def make(s: Settings | None = None, app: FakeApp | None = None) -> TokenProvider:
        return TokenProvider(
            s or settings,
            app_factory=lambda *_: app or fake_app,
            cache_opener=memory_cache_opener(tmp_path / "cache" / "token_cache.bin"),
        )

    return make


@pytest.fixture
def graph() -> FakeGraph:
    """A fake Microsoft Graph at the HTTP seam (tests/graph_fake.py); tests add their answers."""
    return FakeGraph()
