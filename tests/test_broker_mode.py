"""Which sign-in flow will really run (issue 9, bug 9): MSAL's macOS broker needs Apple silicon
and Company Portal, and otherwise falls back silently to the browser."""

from __future__ import annotations

import sys
import types

import pytest

from local_mcp.auth import msal_app, sign_in
from local_mcp.config import Settings


@pytest.fixture
def mac(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setitem(sys.modules, "pymsalruntime", types.ModuleType("pymsalruntime"))

    def machine(arch: str, portal: bool) -> None:
        monkeypatch.setattr(msal_app.platform, "machine", lambda: arch)
        monkeypatch.setattr(msal_app, "_company_portal_installed", lambda: portal)

    return machine


@pytest.mark.parametrize(("arch", "portal", "expected"), [
    ("arm64", True, "broker"), ("x86_64", True, "browser"), ("arm64", False, "browser"),
])
def test_auto_on_macos_reports_the_flow_msal_will_use(mac, arch, portal, expected):
    mac(arch, portal)
    assert sign_in.effective_mode(Settings(auth_mode="auto")) == expected


def test_forced_broker_on_an_intel_mac_reports_the_browser(mac):
    mac("x86_64", True)
    assert sign_in.effective_mode(Settings(auth_mode="broker")) == "browser"


def test_windows_broker_is_unchanged(monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setitem(sys.modules, "pymsalruntime", types.ModuleType("pymsalruntime"))
    assert sign_in.effective_mode(Settings(auth_mode="auto")) == "broker"
