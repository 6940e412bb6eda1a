"""Fixtures for end-to-end tests: the emulator, and the real `local-mcp` process over stdio.

Every server runs through stdout_tap.py, which keeps a copy of every byte the
server wrote to stdout; after each test all those bytes must parse as JSON-RPC.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from tests.emulator import Emulator, EmulatorUser

TAP = Path(__file__).with_name("stdout_tap.py")
USER = EmulatorUser(name="Adele Vance", email="adele@contoso.example")

pytestmark = pytest.mark.integration


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(USER) as emu:
        yield emu


@dataclass
class ServerSetup:
    """Environment and files of the server processes one test starts."""

    emulator: Emulator
    root: Path
    env: dict[str, str]
    taps: list[tuple[Path, Path]] = field(default_factory=list)

    @property
    def cache_dir(self) -> Path:
        return Path(self.env["LOCAL_MCP_CACHE_DIR"])

    @asynccontextmanager
    async def client(
        self, *, mode: str = "auto", elicitation_callback: Any = None, client_options: dict[str, Any] | None = None, **env: str
    ) -> AsyncIterator[Client]:
        """Spawn `local-mcp` (through the stdout tap) and connect the SDK's client to it."""
        n = len(self.taps)
        stdout_copy, stderr_file = self.root / f"stdout-{n}.bin", self.root / f"stderr-{n}.log"
        self.taps.append((stdout_copy, stderr_file))
        params = StdioServerParameters(
            command=sys.executable,
            args=[str(TAP), str(stdout_copy), str(stderr_file), "--", sys.executable, "-m", "local_mcp"],
            env={**self.env, **env},
            cwd=str(self.root),
        )
        async with Client(
            params, mode=mode, elicitation_callback=elicitation_callback, read_timeout_seconds=120, **(client_options or {})
        ) as client:
            yield client

    def stderr_text(self) -> str:
        return "".join(p.read_text(errors="replace") for _, p in self.taps if p.exists())


def base_env(emu: Emulator, root: Path) -> dict[str, str]:
    """The whole environment of the server: the stdio client passes almost nothing through."""
    home = root / "home"
    home.mkdir(exist_ok=True)
    runtime_dir = root / "runtime"
    runtime_dir.mkdir(exist_ok=True, mode=0o700)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PYTHONPATH": os.pathsep.join(p for p in (str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH", "")) if p),
        "LOCAL_MCP_AUTHORITY": emu.authority,
        "LOCAL_MCP_GRAPH_URL": emu.graph_url,
        "LOCAL_MCP_CLIENT_ID": emu.client_id,
        "LOCAL_MCP_CACHE_DIR": str(root / "cache"),
        "LOCAL_MCP_AUTH_MODE": "browser",
        "LOCAL_MCP_SIGN_IN_TIMEOUT": "60",
        # No keyring here: the stdio client passes no DBUS_SESSION_BUS_ADDRESS, and this empty
        # XDG_RUNTIME_DIR hides a desktop's /run/user/<uid>/bus. tests/keyring/ adds a real one.
        "XDG_RUNTIME_DIR": str(runtime_dir),
        "LOCAL_MCP_ALLOW_UNENCRYPTED_CACHE": "1",
        "LOCAL_MCP_LOG_LEVEL": "INFO",
        **emu.env(),
    }
    return env


@pytest.fixture
def setup(emulator: Emulator, tmp_path: Path) -> Iterator[ServerSetup]:
    s = ServerSetup(emulator=emulator, root=tmp_path, env=base_env(emulator, tmp_path))
    yield s
    assert_stdout_is_json_rpc(s)


def assert_stdout_is_json_rpc(s: ServerSetup) -> None:
    """Every byte any server of this test wrote to stdout is a JSON-RPC message, one per line."""
    for stdout_copy, _ in s.taps:
        data = stdout_copy.read_bytes() if stdout_copy.exists() else b""
        for number, line in enumerate(data.split(b"\n"), 1):
            if not line.strip():
                continue
            try:
                message = json.loads(line)
            except ValueError:
                pytest.fail(f"{stdout_copy.name} line {number} is not JSON-RPC: {line[:200]!r}")
            assert isinstance(message, dict) and message.get("jsonrpc") == "2.0", f"line {number}: {line[:200]!r}"
