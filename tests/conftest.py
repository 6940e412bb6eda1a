"""Shared fixtures: a clean environment, settings pointing at a temp cache, a fake MSAL app."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from local_mcp.auth.tokens import TokenProvider
from local_mcp.config import Settings
from tests.fakes import FakeApp, memory_cache_opener


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: runs the real server process against the local emulator")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No LOCAL_MCP_* (or browser) setting leaks from the developer's shell into a test."""
    for name in list(os.environ):
        if name.startswith("LOCAL_MCP_"):
            monkeypatch.delenv(name, raising=False)
    for name in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)


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
