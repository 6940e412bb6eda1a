"""An outside client nobody here wrote: the MCP Inspector (npm, CLI mode) drives the real server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import USER, base_env

pytestmark = pytest.mark.integration


def inspector_bin() -> str | None:
    found = os.environ.get("MCP_INSPECTOR_BIN") or shutil.which("mcp-inspector")
    if found:
        return found
    local = Path(__file__).parents[2] / ".ci-venv" / "inspector" / "node_modules" / ".bin" / "mcp-inspector"
    return str(local) if local.exists() else None


@pytest.fixture
def inspector() -> str:
    found = inspector_bin()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install the MCP Inspector (see .ci/run)")
        pytest.skip("MCP Inspector not installed (bash .ci/run installs it)")
    return found


def run_inspector(inspector: str, env: dict[str, str], *method_args: str) -> dict:
    flags: list[str] = []
    for key, value in env.items():
        if key.startswith(("LOCAL_MCP_", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "BROWSER", "PYTHONPATH", "HOME")):
            flags += ["-e", f"{key}={value}"]
    command = [inspector, "--cli", *flags, *method_args, sys.executable, "-m", "local_mcp"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": env["HOME"]})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_inspector_lists_tools_and_calls_whoami(inspector, emulator, tmp_path):
    env = base_env(emulator, tmp_path)
    listed = run_inspector(inspector, env, "--method", "tools/list")
    names = {tool["name"] for tool in listed["tools"]}
    assert {"whoami", "sign_in", "sign_out", "auth_status"} <= names

    called = run_inspector(inspector, env, "--method", "tools/call", "--tool-name", "whoami")
    assert called["isError"] is False
    assert called["structuredContent"]["greeting"] == f"Hello, {USER.name} ({USER.email})"
    assert emulator.counts["authorize"] == 1


@pytest.mark.parametrize("writes", ["0", "1"], ids=["read-only", "writes"])
def test_inspector_strict_finds_no_schema_problem(inspector, emulator, tmp_path, writes):
    # --strict reports every tool-schema portability problem (type arrays, empty schemas, ...) on stderr.
    env = {**base_env(emulator, tmp_path), "LOCAL_MCP_ALLOW_WRITES": writes}
    flags = [flag for key, value in env.items() if key.startswith(("LOCAL_MCP_", "PYTHONPATH", "HOME")) for flag in ("-e", f"{key}={value}")]
    command = [inspector, "--cli", "--strict", "--connect-timeout", "120000", *flags, "--method", "tools/list", sys.executable, "-m", "local_mcp"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, env={**os.environ, "HOME": env["HOME"]})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Warning" not in done.stderr and "Error" not in done.stderr, done.stderr[-3000:]
    assert {tool["name"] for tool in json.loads(done.stdout)["tools"]} >= {"whoami", "graph_request"}
