"""The token cache: encrypted or refused; plaintext only on opt-in, 0600, never half-written."""

from __future__ import annotations

import json
import os
import stat

import msal_extensions
import pytest

from local_mcp.auth.cache import CACHE_FILE_NAME, open_token_cache
from local_mcp.errors import CacheUnavailableError


@pytest.fixture
def no_encryption(monkeypatch):
    def refuse(location):
        raise ImportError("Unable to import module 'gi'\nRuntime dependency of PyGObject is missing.")

    monkeypatch.setattr(msal_extensions, "build_encrypted_persistence", refuse)


def test_refuses_without_encryption_and_names_both_fixes(settings, no_encryption, caplog):
    with pytest.raises(CacheUnavailableError) as info:
        open_token_cache(settings)
    message = str(info.value)
    assert "keyring" in message and "LOCAL_MCP_ALLOW_UNENCRYPTED_CACHE=1" in message
    assert "\n" not in message  # one readable line, not a library's paragraph
    assert not (settings.resolved_cache_dir() / CACHE_FILE_NAME).exists()


@pytest.mark.parametrize("error", [ValueError("no keyring"), RuntimeError("libsecret did not perform properly.")])
def test_keyring_failures_are_refusals_too(settings, monkeypatch, error):
    def fail(location):
        raise error

    monkeypatch.setattr(msal_extensions, "build_encrypted_persistence", fail)
    with pytest.raises(CacheUnavailableError, match="LOCAL_MCP_ALLOW_UNENCRYPTED_CACHE"):
        open_token_cache(settings)


def test_opt_in_gives_a_plaintext_file_with_mode_0600_and_a_warning(settings, no_encryption, caplog):
    plain = settings.with_changes(allow_unencrypted_cache=True)
    cache, info = open_token_cache(plain)
    assert info.backend == "plaintext" and info.encrypted is False
    assert "NOT encrypted" in caplog.text
    cache.add({"client_id": "c", "scope": ["s"], "token_endpoint": "https://login.example/t/oauth2/v2.0/token",
               "response": {"access_token": "at", "expires_in": 3600, "token_type": "Bearer"}})
    path = plain.resolved_cache_dir() / CACHE_FILE_NAME
    assert path.exists()
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert "AccessToken" in json.loads(path.read_text())
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]  # atomic: no leftovers


def test_corrupt_cache_is_set_aside_not_deleted(settings, no_encryption, caplog):
    plain = settings.with_changes(allow_unencrypted_cache=True)
    directory = plain.resolved_cache_dir()
    directory.mkdir(parents=True)
    (directory / CACHE_FILE_NAME).write_text("{not json")
    cache, _ = open_token_cache(plain)
    aside = [p for p in directory.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1 and aside[0].read_text() == "{not json"
    assert "corrupt" in caplog.text
    assert cache.find("AccessToken") == []
