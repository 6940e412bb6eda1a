"""The real `local-mcp` process, with no plaintext opt-in, keeping its tokens in a real keyring."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from local_mcp.auth.cache import CACHE_FILE_NAME, open_token_cache
from local_mcp.config import Settings
from tests.integration.cache_stress import check_cache, check_outcome, run_stress
from tests.integration.conftest import USER, ServerSetup, base_env
from tests.integration.test_e2e import text_of
from tests.keyring.conftest import Keyring, files_containing, libsecret_importable

pytestmark = [pytest.mark.keyring, pytest.mark.integration]

ROOT = Path(__file__).parents[2]


def keyring_env(backend: str, bus: str | None = None) -> dict[str, str]:
    """What the server needs to find the keyring: the session bus, no opt-in, the backend to use."""
    import os

    return {
        "DBUS_SESSION_BUS_ADDRESS": bus or os.environ["DBUS_SESSION_BUS_ADDRESS"],
        "LOCAL_MCP_ALLOW_UNENCRYPTED_CACHE": "0",
        "LOCAL_MCP_KEYRING_BACKEND": backend,
    }


async def test_sign_in_keeps_the_tokens_in_the_keyring_and_a_second_process_reuses_them(
    setup: ServerSetup, backend: str, keyring: Keyring, tmp_path: Path
):
    emu = setup.emulator
    env = keyring_env(backend)
    async with setup.client(**env) as client:
        first = await client.call_tool("whoami", {})
        assert not first.is_error, text_of(first)
        status = (await client.call_tool("auth_status", {})).structured_content
    cache = status["cache"]
    assert (cache["backend"], cache["encrypted"], cache["problem"]) == (backend, True, None)
    assert "Secret Service item 'local-mcp token cache'" in cache["location"]
    assert cache["path"] == str(setup.cache_dir / CACHE_FILE_NAME)
    assert emu.counts["authorize"] == 1

    issued = emu.refresh_tokens
    assert issued, "the emulator issued no refresh token"
    stored = keyring.secret(setup.cache_dir / CACHE_FILE_NAME).decode()
    assert issued[-1] in stored
    for refresh_token in issued:  # not in the cache dir, the server's HOME, its logs, nor the keyring's files
        assert files_containing(refresh_token, tmp_path, keyring.home) == []
    assert (setup.cache_dir / CACHE_FILE_NAME).stat().st_size == 0

    emu.reset_counts()
    async with setup.client(**env) as client:  # a second process: no sign-in, not even a refresh
        again = await client.call_tool("whoami", {})
    assert not again.is_error, text_of(again)
    assert again.structured_content["email"] == USER.email
    assert (emu.counts["authorize"], emu.counts["token"]) == (0, 0)


@pytest.mark.parametrize("pygobject", ["installed", "hidden"])
async def test_by_default_libsecret_is_used_when_pygobject_works_else_secretstorage(
    setup: ServerSetup, keyring: Keyring, tmp_path: Path, pygobject: str
):
    """No LOCAL_MCP_KEYRING_BACKEND, no opt-in: what `uvx local-mcp` does (uvx has no PyGObject)."""
    env = keyring_env("auto")
    if pygobject == "hidden":
        shim = tmp_path / "no-gi"
        (shim / "gi").mkdir(parents=True)
        (shim / "gi" / "__init__.py").write_text("raise ImportError(\"No module named 'gi' (hidden by the test)\")\n")
        env["PYTHONPATH"] = f"{shim}:{setup.env['PYTHONPATH']}"
    elif not libsecret_importable():
        pytest.skip("PyGObject with the Secret typelib is not installed (.ci/run installs it)")
    async with setup.client(**env) as client:
        assert not (await client.call_tool("whoami", {})).is_error
        cache = (await client.call_tool("auth_status", {})).structured_content["cache"]
    assert cache["backend"] == ("libsecret" if pygobject == "installed" else "secretstorage")
    assert cache["encrypted"] is True
    assert setup.emulator.refresh_tokens[-1] in keyring.secret(setup.cache_dir / CACHE_FILE_NAME).decode()


async def test_status_command_names_the_backend_and_where_the_tokens_are(setup: ServerSetup, backend: str, keyring: Keyring):
    env = {**setup.env, **keyring_env(backend)}
    login = subprocess.run([sys.executable, "-m", "local_mcp", "login"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert login.returncode == 0, login.stderr
    shown = subprocess.run([sys.executable, "-m", "local_mcp", "status"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert f"Token cache: {backend}, encrypted: Secret Service item 'local-mcp token cache'" in shown.stdout
    assert f"Signal file: {setup.cache_dir / CACHE_FILE_NAME}" in shown.stdout
    assert f"Account:     {USER.email}" in shown.stdout


async def test_a_locked_keyring_is_a_clear_error_and_the_server_keeps_serving(setup: ServerSetup, backend: str, keyring: Keyring):
    keyring.lock()
    async with setup.client(**keyring_env(backend)) as client:
        result = await client.call_tool("whoami", {})
        assert result.is_error
        message = text_of(result)
        assert "cannot be encrypted" in message and "is locked" in message
        assert "LOCAL_MCP_ALLOW_UNENCRYPTED_CACHE=1" in message
        status = await client.call_tool("auth_status", {})
        assert not status.is_error and "is locked" in status.structured_content["cache"]["problem"]
    assert setup.emulator.counts["token"] == 0


async def test_a_corrupt_keyring_item_is_set_aside_and_the_user_signs_in_again(setup: ServerSetup, backend: str, keyring: Keyring):
    path = setup.cache_dir / CACHE_FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    keyring.put(path, b"\x00 this is not MSAL's cache")
    async with setup.client(**keyring_env(backend)) as client:
        result = await client.call_tool("whoami", {})
        assert not result.is_error, text_of(result)
        status = (await client.call_tool("auth_status", {})).structured_content
    assert "set aside" in status["cache"]["notice"]
    assert setup.emulator.counts["authorize"] == 1
    assert len(keyring.set_aside(path)) == 1
    assert setup.emulator.refresh_tokens[-1] in keyring.secret(path).decode()


def test_eight_processes_refreshing_50_times_lose_nothing(emulator, backend: str, keyring: Keyring, tmp_path: Path):
    env = {**base_env(emulator, tmp_path), **keyring_env(backend), "LOCAL_MCP_LOG_LEVEL": "WARNING"}
    outcome = run_stress(emulator, env, tmp_path)
    check_outcome(outcome, emulator)
    assert {r["backend"] for r in outcome.results} == {backend}

    settings = Settings.load(env)
    cache, info = open_token_cache(settings)
    assert info.backend == backend and not info.notices
    check_cache(cache, settings.resolved_cache_dir(), emulator)
    assert json.loads(keyring.secret(settings.resolved_cache_dir() / CACHE_FILE_NAME))  # the item parses
    print(f"stress ({backend}): {outcome.seconds:.1f} s")
