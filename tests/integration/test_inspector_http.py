"""The MCP Inspector CLI (npm, pinned in .ci/run) against remote mode: Streamable HTTP with a bearer token.

Runs when the Inspector is installed (MCP_INSPECTOR_BIN, as .ci/run sets it); in CI a missing
Inspector fails the test instead of skipping it (the `inspector` fixture).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.emulator import Emulator
from tests.emulator.obo import ApiRegistration
from tests.integration.test_inspector import inspector  # noqa: F401 - the fixture
from tests.integration.test_remote import remote  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration


def run_inspector_http(inspector: str, port: int, root: Path, *args: str, token: str | None) -> subprocess.CompletedProcess[str]:
    headers = ["--header", f"Authorization: Bearer {token}"] if token else []
    command = [inspector, "--cli", f"http://127.0.0.1:{port}/mcp", "--transport", "http", *headers, *args]
    home = root / "inspector-home"  # its catalog (~/.mcp-inspector) stays in the test's folder
    home.mkdir(exist_ok=True)
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(home)})


def test_inspector_over_http_with_a_bearer_token(
    inspector: str, remote: tuple[Emulator, ApiRegistration, int, Path],  # noqa: F811 - fixtures
) -> None:
    emu, api, port, root = remote
    token = api.user_token()
    listed = run_inspector_http(inspector, port, root, "--method", "tools/list", token=token)
    assert listed.returncode == 0, listed.stderr[-2000:]
    names = {tool["name"] for tool in json.loads(listed.stdout)["tools"]}
    assert "whoami" in names and "list_messages" in names
    assert not names & {"sign_in", "sign_out"}  # a local sign-in makes no sense on a shared server

    called = run_inspector_http(inspector, port, root, "--method", "tools/call", "--tool-name", "whoami", token=token)
    assert called.returncode == 0, called.stderr[-2000:]
    result = json.loads(called.stdout)
    assert result["isError"] is False
    assert emu.user.email in json.dumps(result["structuredContent"])
    assert emu.counts["token.obo"] == 1  # Graph on behalf of the caller, one OBO exchange
    log = (root / f"server-{port}.log").read_text(errors="replace")
    assert f"user={emu.user.oid} tool=whoami status=ok" in log and token not in log


def test_inspector_over_http_without_a_token_is_refused(
    inspector: str, remote: tuple[Emulator, ApiRegistration, int, Path],  # noqa: F811 - fixtures
) -> None:
    emu, _, port, root = remote
    refused = run_inspector_http(inspector, port, root, "--method", "tools/list", token=None)
    assert refused.returncode != 0
    # It read our 401 challenge and would start the client's OAuth sign-in, which needs a terminal.
    assert json.loads(refused.stderr.strip().splitlines()[-1])["error"]["code"] == "auth_required", refused.stderr
    assert emu.counts["token.obo"] == 0
