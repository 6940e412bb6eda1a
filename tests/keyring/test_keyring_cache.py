"""The token cache in a real Secret Service keyring, through libsecret and through SecretStorage."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import msal
import pytest

from local_mcp.auth.cache import CACHE_FILE_NAME, open_token_cache
from local_mcp.config import Settings
from local_mcp.errors import CacheUnavailableError
from tests.keyring.conftest import Keyring, files_containing, libsecret_importable

pytestmark = pytest.mark.keyring

ROOT = Path(__file__).parents[2]
REFRESH_TOKEN = "0.AEMU-refresh-token-that-must-never-reach-a-file"


def token_response(refresh_token: str = REFRESH_TOKEN) -> dict:
    return {
        "client_id": "c",
        "scope": ["https://graph.example/User.Read"],
        "token_endpoint": "https://login.example/tid-1/oauth2/v2.0/token",
        "response": {
            "access_token": "eyJ.access.token",
            "expires_in": 3600,
            "token_type": "Bearer",
            "refresh_token": refresh_token,
            "client_info": "eyJ1aWQiOiJ1aWQiLCJ1dGlkIjoidXRpZCJ9",  # {"uid":"uid","utid":"utid"}
        },
    }


def refresh_tokens(cache) -> list[str]:
    return [entry["secret"] for entry in cache.search("RefreshToken")]


@pytest.fixture
def ksettings(settings: Settings, backend: str) -> Settings:
    return settings.with_changes(keyring_backend=backend)


def test_tokens_go_to_the_keyring_and_to_no_file(ksettings: Settings, backend: str, keyring: Keyring, tmp_path: Path):
    cache, info = open_token_cache(ksettings)
    assert (info.backend, info.encrypted) == (backend, True)
    assert "Secret Service item 'local-mcp token cache'" in info.location
    cache.add(token_response())

    path = ksettings.resolved_cache_dir() / CACHE_FILE_NAME
    assert REFRESH_TOKEN in keyring.secret(path).decode()
    assert path.exists() and path.stat().st_size == 0  # only the signal file
    assert files_containing(REFRESH_TOKEN, tmp_path, keyring.home) == []

    again, _ = open_token_cache(ksettings)  # as another process would
    assert refresh_tokens(again) == [REFRESH_TOKEN]


def test_both_backends_share_one_item(settings: Settings, keyring: Keyring):
    if not libsecret_importable():
        pytest.skip("PyGObject with the Secret typelib is not installed (.ci/run installs it)")
    via_libsecret = settings.with_changes(keyring_backend="libsecret")
    via_secretstorage = settings.with_changes(keyring_backend="secretstorage")
    cache, _ = open_token_cache(via_libsecret)
    cache.add(token_response("rt-written-by-libsecret"))
    cache, info = open_token_cache(via_secretstorage)
    assert info.backend == "secretstorage" and refresh_tokens(cache) == ["rt-written-by-libsecret"]
    cache.add(token_response("rt-written-by-secretstorage"))
    cache, _ = open_token_cache(via_libsecret)
    assert refresh_tokens(cache) == ["rt-written-by-secretstorage"]
    assert len(keyring.items(settings.resolved_cache_dir() / CACHE_FILE_NAME)) == 1


def test_a_second_process_reads_what_the_first_wrote(ksettings: Settings, keyring: Keyring):
    cache, _ = open_token_cache(ksettings)
    cache.add(token_response())
    script = (
        "import sys; from local_mcp.config import Settings; from local_mcp.auth.cache import open_token_cache\n"
        "cache, info = open_token_cache(Settings.load())\n"
        "print(info.backend, [e['secret'] for e in cache.search('RefreshToken')] == [sys.argv[1]])\n"
    )
    env = {
        **_subprocess_env(),
        "LOCAL_MCP_CACHE_DIR": str(ksettings.resolved_cache_dir()),
        "LOCAL_MCP_KEYRING_BACKEND": ksettings.keyring_backend,
    }
    done = subprocess.run([sys.executable, "-c", script, REFRESH_TOKEN], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [ksettings.keyring_backend, "True"]


def test_a_locked_keyring_is_a_clear_refusal(ksettings: Settings, keyring: Keyring):
    keyring.lock()
    with pytest.raises(CacheUnavailableError) as refused:
        open_token_cache(ksettings)
    message = str(refused.value)
    assert "cannot be encrypted" in message and "is locked" in message
    assert "LOCAL_MCP_ALLOW_UNENCRYPTED_CACHE=1" in message and "\n" not in message
    assert not (ksettings.resolved_cache_dir() / CACHE_FILE_NAME).exists()

    # With the opt-in the refusal becomes a plaintext cache, as without any keyring.
    cache, info = open_token_cache(ksettings.with_changes(allow_unencrypted_cache=True))
    assert (info.backend, info.encrypted) == ("plaintext", False)


@pytest.mark.parametrize("garbage", [b"{not json", b"\xff\xfe not text"])
def test_a_corrupt_item_is_set_aside_and_the_cache_starts_empty(
    ksettings: Settings, backend: str, keyring: Keyring, garbage: bytes, caplog
):
    path = ksettings.resolved_cache_dir() / CACHE_FILE_NAME
    path.parent.mkdir(parents=True)
    path.touch()
    keyring.put(path, garbage)

    cache, info = open_token_cache(ksettings)
    assert info.notices and "corrupt" in info.notices[0] and "set aside" in info.notices[0]
    assert "corrupt" in caplog.text
    assert keyring.items(path) == []  # out of the way ...
    aside = keyring.set_aside(path)  # ... but kept
    assert len(aside) == 1 and bytes(aside[0].get_secret()) == garbage
    assert list(cache.search("RefreshToken")) == []

    cache.add(token_response())  # the next sign-in writes a fresh item
    assert REFRESH_TOKEN in keyring.secret(path).decode()


def test_a_plaintext_cache_from_an_earlier_opt_in_moves_into_the_keyring(ksettings: Settings, keyring: Keyring, tmp_path: Path):
    old = msal.SerializableTokenCache()
    old.add(token_response())
    path = ksettings.resolved_cache_dir() / CACHE_FILE_NAME
    path.parent.mkdir(parents=True)
    path.write_text(old.serialize())

    cache, info = open_token_cache(ksettings)
    assert info.encrypted and refresh_tokens(cache) == [REFRESH_TOKEN]
    assert path.stat().st_size == 0
    assert REFRESH_TOKEN in keyring.secret(path).decode()
    assert files_containing(REFRESH_TOKEN, tmp_path) == []


def test_a_deleted_signal_file_does_not_hide_the_tokens(ksettings: Settings, keyring: Keyring):
    cache, _ = open_token_cache(ksettings)
    cache.add(token_response())
    path = ksettings.resolved_cache_dir() / CACHE_FILE_NAME
    path.unlink()
    again, _ = open_token_cache(ksettings)
    assert refresh_tokens(again) == [REFRESH_TOKEN]
    assert path.exists()


def test_no_secret_service_on_the_bus_is_a_clear_refusal(backend: str, bus_without_secret_service: str, tmp_path: Path):
    # In a new process: GLib keeps its first session-bus connection for the life of a process.
    env = {
        **_subprocess_env(),
        "DBUS_SESSION_BUS_ADDRESS": bus_without_secret_service,
        "LOCAL_MCP_CACHE_DIR": str(tmp_path / "cache"),
        "LOCAL_MCP_KEYRING_BACKEND": backend,
    }
    done = subprocess.run(
        [sys.executable, "-m", "local_mcp", "status", "--json"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    problem = json.loads(done.stdout)["cache"]["problem"]
    assert "cannot be encrypted" in problem and "no Secret Service provider" in problem
    assert "LOCAL_MCP_ALLOW_UNENCRYPTED_CACHE=1" in problem


def _subprocess_env() -> dict[str, str]:
    import os

    keep = ("PATH", "HOME", "LANG", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env["PYTHONPATH"] = str(ROOT)
    return env
