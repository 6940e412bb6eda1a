"""The token cache: encrypted or refused; plaintext only on opt-in, 0600, never half-written."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time

import msal
import msal_extensions
import pytest
from msal_extensions.persistence import PersistenceNotFound

from local_mcp.auth import secret_service
from local_mcp.auth.cache import CACHE_FILE_NAME, atomic_write_private, describe_stuck_lock, open_token_cache
from local_mcp.auth.tokens import TokenProvider
from local_mcp.errors import CacheUnavailableError
from tests.test_cache_lock import hold_lock

TOKENS = {
    "client_id": "c",
    "scope": ["s"],
    "token_endpoint": "https://login.example/t/oauth2/v2.0/token",
    "response": {"access_token": "at", "expires_in": 3600, "token_type": "Bearer"},
}


@pytest.fixture
def no_encryption(monkeypatch):
    """No keyring: on Linux the autouse clean_environ already hides the session bus."""

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


@pytest.mark.parametrize("error", [ValueError("no keyring"), RuntimeError("Keychain did not perform properly.")])
def test_keychain_and_dpapi_failures_are_refusals_too(settings, monkeypatch, error):
    def fail(location):
        raise error

    monkeypatch.setattr(sys, "platform", "darwin")  # the msal-extensions path of macOS and Windows
    monkeypatch.setattr(msal_extensions, "build_encrypted_persistence", fail)
    with pytest.raises(CacheUnavailableError, match="LOCAL_MCP_ALLOW_UNENCRYPTED_CACHE") as info:
        open_token_cache(settings)
    assert "keychain is not usable" in str(info.value)


def test_opt_in_gives_a_plaintext_file_with_mode_0600_and_a_warning(settings, no_encryption, caplog):
    plain = settings.with_changes(allow_unencrypted_cache=True)
    cache, info = open_token_cache(plain)
    assert info.backend == "plaintext" and info.encrypted is False
    assert "NOT encrypted" in caplog.text
    cache.add(TOKENS)
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
    assert list(cache.search("AccessToken")) == []


def _b64(data: dict) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


# A whole sign-in's result: MSAL writes an access, refresh and id token, an account and app metadata.
SIGN_IN = {
    "client_id": "c",
    "scope": ["s"],
    "token_endpoint": "https://login.example/tid-1/oauth2/v2.0/token",
    "response": {
        "access_token": "at",
        "refresh_token": "rt",
        "expires_in": 3600,
        "token_type": "Bearer",
        "client_info": _b64({"uid": "oid-1", "utid": "tid-1"}),
        "id_token": f"{_b64({'alg': 'none'})}.{_b64({'sub': 's', 'oid': 'oid-1', 'tid': 'tid-1', 'preferred_username': 'adele@contoso.example', 'iss': 'https://login.example/tid-1/v2.0', 'aud': 'c'})}.",
        "foci": "1",
    },
}


def _msal_written_cache() -> dict:
    written = msal.SerializableTokenCache()
    written.add(SIGN_IN)
    return json.loads(written.serialize())


def _entry(data: dict, section: str) -> dict:
    return next(iter(data[section].values()))


def _bad_shapes():
    def at(field, value):
        return lambda d: _entry(d, "AccessToken").__setitem__(field, value)

    return {
        "expires_on is a list": at("expires_on", [1]),
        "expires_on is not digits": at("expires_on", "soon"),
        "target is a number": at("target", 7),
        "secret is missing": lambda d: _entry(d, "RefreshToken").pop("secret"),
        "username is a number": lambda d: _entry(d, "Account").__setitem__("username", 42),
        "authority_type is missing": lambda d: _entry(d, "Account").pop("authority_type"),
        "a section is a list": lambda d: d.__setitem__("IdToken", []),
        "an entry is text": lambda d: d["AccessToken"].__setitem__("k", "x"),
        "family_id is an object": lambda d: _entry(d, "AppMetadata").__setitem__("family_id", {}),
    }


def test_a_cache_msal_wrote_is_in_msal_shape():
    from local_mcp.auth.cache_shape import msal_shape_problem

    data = _msal_written_cache()
    assert set(data) >= {"AccessToken", "RefreshToken", "IdToken", "Account", "AppMetadata"}
    assert msal_shape_problem(data) is None
    assert msal_shape_problem({**data, "SomethingNew": [1, 2]}) is None  # sections MSAL does not read


@pytest.mark.parametrize("what", list(_bad_shapes()))
def test_json_that_msal_cannot_read_is_set_aside_before_any_sign_in(settings, no_encryption, what):
    data = _msal_written_cache()
    _bad_shapes()[what](data)
    plain = settings.with_changes(allow_unencrypted_cache=True)
    directory = plain.resolved_cache_dir()
    directory.mkdir(parents=True)
    (directory / CACHE_FILE_NAME).write_text(json.dumps(data))
    cache, info = open_token_cache(plain)  # at start-up: set aside, reported
    aside = [p for p in directory.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1 and json.loads(aside[0].read_text()) == data
    assert info.notices and "not in MSAL's shape" in info.notices[-1]
    cache.add(SIGN_IN)  # the sign-in that follows is stored whole
    stored = json.loads((directory / CACHE_FILE_NAME).read_text())
    assert len(stored["RefreshToken"]) == 1 and len(stored["Account"]) == 1


# ----- Linux: choosing the way to the keyring (fakes; the real keyring is in tests/keyring/) ------

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Secret Service chain is Linux-only")


class FakeKeyring:
    """An in-memory stand-in for a keyring persistence: the item, the signal file, set_aside()."""

    is_encrypted = True
    description = "Secret Service item 'local-mcp token cache' in the keyring collection 'Fake'"
    items: dict[str, str] = {}
    aside: list[str] = []

    def __init__(self, location, **_):
        self.location = str(location)

    def save(self, content):
        FakeKeyring.items[self.location] = content
        secret_service.touch_signal(self.location)

    def load(self):
        if self.location not in FakeKeyring.items:
            raise PersistenceNotFound()
        return FakeKeyring.items[self.location]

    def time_last_modified(self):
        return secret_service.signal_mtime(self.location)

    def get_location(self):
        return self.location

    def exists(self):
        return self.location in FakeKeyring.items

    def set_aside(self):
        FakeKeyring.aside.append(FakeKeyring.items.pop(self.location))
        secret_service.remove_signal(self.location)
        return "keyring item 'set aside'"


@pytest.fixture
def fake_keyring(monkeypatch):
    """A session bus that 'exists'; libsecret missing (as under uvx); SecretStorage is the fake."""
    FakeKeyring.items, FakeKeyring.aside = {}, []
    tried: list[str] = []

    def no_libsecret(location):
        tried.append("libsecret")
        raise secret_service.KeyringUnavailable("PyGObject is not installed (ImportError: no gi)", not_installed=True)

    def fake_secretstorage(location, **kwargs):
        tried.append("secretstorage")
        return FakeKeyring(location, **kwargs)

    monkeypatch.setattr(secret_service, "ensure_session_bus", lambda: None)
    monkeypatch.setattr(secret_service, "libsecret_persistence", no_libsecret)
    monkeypatch.setattr(secret_service, "SecretServicePersistence", fake_secretstorage)
    return tried


@linux_only
def test_without_a_session_bus_the_refusal_says_so(settings):
    with pytest.raises(CacheUnavailableError) as info:
        open_token_cache(settings)
    message = str(info.value)
    assert "no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is unset" in message
    assert "LOCAL_MCP_ALLOW_UNENCRYPTED_CACHE=1" in message and "\n" not in message
    assert "PyGObject" not in message  # not needed any more: SecretStorage is pure Python


@linux_only
def test_the_bus_of_a_systemd_user_session_is_found_without_the_variable(monkeypatch, tmp_path):
    runtime = tmp_path / "run-user"
    runtime.mkdir()
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(runtime / "bus"))
    try:
        monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
        assert secret_service.ensure_session_bus() is None
        assert os.environ["DBUS_SESSION_BUS_ADDRESS"] == f"unix:path={runtime / 'bus'}"
    finally:
        listener.close()


@linux_only
def test_without_pygobject_the_pure_python_way_is_used(settings, fake_keyring):
    cache, info = open_token_cache(settings)
    assert fake_keyring == ["libsecret", "secretstorage"]
    assert (info.backend, info.encrypted) == ("secretstorage", True)
    assert info.location == FakeKeyring.description
    cache.add(TOKENS)
    path = settings.resolved_cache_dir() / CACHE_FILE_NAME
    assert "AccessToken" in FakeKeyring.items[str(path)]
    assert path.read_bytes() == b""  # only the signal file is on disk


@linux_only
def test_a_chosen_backend_is_the_only_one_tried(settings, fake_keyring):
    with pytest.raises(CacheUnavailableError) as info:
        open_token_cache(settings.with_changes(keyring_backend="libsecret"))
    assert fake_keyring == ["libsecret"]
    assert "libsecret: PyGObject is not installed" in str(info.value)  # chosen, so worth saying

    fake_keyring.clear()
    _, chosen = open_token_cache(settings.with_changes(keyring_backend="secretstorage"))
    assert fake_keyring == ["secretstorage"] and chosen.backend == "secretstorage"


@linux_only
def test_when_both_ways_fail_the_refusal_gives_the_reason_that_matters(settings, fake_keyring, monkeypatch):
    def locked(location, **_):
        raise secret_service.KeyringUnavailable("the keyring collection 'Login' is locked and could not be unlocked")

    monkeypatch.setattr(secret_service, "SecretServicePersistence", locked)
    with pytest.raises(CacheUnavailableError) as info:
        open_token_cache(settings)
    message = str(info.value)
    assert "secretstorage: the keyring collection 'Login' is locked" in message
    assert "PyGObject" not in message  # a missing optional library is not the problem

    _, plain = open_token_cache(settings.with_changes(allow_unencrypted_cache=True))
    assert plain.backend == "plaintext"


@linux_only
def test_a_plaintext_cache_left_by_an_opt_in_moves_into_the_keyring(settings, fake_keyring, caplog):
    directory = settings.resolved_cache_dir()
    directory.mkdir(parents=True)
    old = msal.SerializableTokenCache()
    old.add(TOKENS)
    (directory / CACHE_FILE_NAME).write_text(old.serialize())
    cache, _ = open_token_cache(settings)
    assert (directory / CACHE_FILE_NAME).read_bytes() == b""
    assert "AccessToken" in FakeKeyring.items[str(directory / CACHE_FILE_NAME)]
    assert len(list(cache.search("AccessToken"))) == 1
    assert "moved into the keyring" in caplog.text


@linux_only
def test_a_corrupt_keyring_item_is_set_aside_and_reported(settings, fake_keyring):
    path = settings.resolved_cache_dir() / CACHE_FILE_NAME
    path.parent.mkdir(parents=True)
    path.touch()
    FakeKeyring.items[str(path)] = "{not json"
    cache, info = open_token_cache(settings)
    assert FakeKeyring.aside == ["{not json"] and str(path) not in FakeKeyring.items
    assert "corrupt" in info.notices[-1] and "keyring item 'set aside'" in info.notices[-1]
    assert list(cache.search("AccessToken")) == []


# ----- corrupt while running; the lock ------------------------------------------------------------


def test_a_cache_corrupted_while_running_is_set_aside_and_the_server_keeps_going(settings, no_encryption, caplog):
    plain = settings.with_changes(allow_unencrypted_cache=True)
    cache, info = open_token_cache(plain)
    cache.add(TOKENS)
    path = plain.resolved_cache_dir() / CACHE_FILE_NAME
    path.write_text("garbage from somewhere else")
    os.utime(path, ns=(time.time_ns() + 10**9,) * 2)  # newer than the cache's last sync
    list(cache.search("AccessToken"))  # reloads: must not raise
    assert [p.name for p in path.parent.iterdir() if ".corrupt-" in p.name]
    assert info.notices and "corrupt" in info.notices[-1]
    cache.add(TOKENS)  # and writing goes on, into a fresh file
    assert "AccessToken" in json.loads(path.read_text())


def test_the_file_time_is_never_behind_the_clock(tmp_path):
    """PersistedTokenCache reloads when the file's mtime is newer than its last time.time()."""
    path = tmp_path / "f"
    for _ in range(50):
        before = time.time()
        atomic_write_private(path, b"{}")
        assert path.stat().st_mtime >= before


def test_a_lock_left_by_a_killed_process_does_not_block(settings, no_encryption):
    """SIGKILL while holding the cache lock: the OS lock dies with its holder, the next write goes ahead."""
    plain = settings.with_changes(allow_unencrypted_cache=True)
    cache, _ = open_token_cache(plain)
    path = plain.resolved_cache_dir() / CACHE_FILE_NAME
    lock = path.with_name(CACHE_FILE_NAME + ".lockfile")
    holder = hold_lock(lock)
    holder.kill()  # SIGKILL: no clean-up runs
    holder.wait()
    assert lock.read_text().split()[0] == str(holder.pid)  # the file stays behind, naming the dead process
    cache.add(TOKENS)  # the lock is free: no LockError, no 5-second wait for the file to go
    assert "AccessToken" in json.loads(path.read_text())
    assert not lock.exists()  # and whoever took it next removed the leftover


def test_a_lock_held_by_a_live_process_says_to_wait(tmp_path):
    path = tmp_path / CACHE_FILE_NAME
    (tmp_path / (CACHE_FILE_NAME + ".lockfile")).write_text(f"{os.getpid()} pytest")
    assert "which is still running. Wait for it" in describe_stuck_lock(path)
    (tmp_path / (CACHE_FILE_NAME + ".lockfile")).unlink()
    assert "was busy" in describe_stuck_lock(path)


# ----- a cache folder others control ---------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX owners and modes")
def test_a_cache_folder_of_another_user_is_refused_before_anything_is_read(settings, no_encryption, monkeypatch):
    from local_mcp.auth.cache import cache_dir_problem

    plain = settings.with_changes(allow_unencrypted_cache=True)
    folder = plain.resolved_cache_dir()
    folder.mkdir(mode=0o700)
    (folder / CACHE_FILE_NAME).write_text(json.dumps({"AccessToken": {}}))  # planted
    owner = folder.stat().st_uid
    monkeypatch.setattr(os, "geteuid", lambda: owner + 1)
    with pytest.raises(CacheUnavailableError) as refused:
        open_token_cache(plain)
    message = str(refused.value)
    assert str(folder) in message and f"belongs to another user (uid {owner}" in message
    assert "LOCAL_MCP_CACHE_DIR" in message
    assert "belongs to another user" in (cache_dir_problem(folder) or "")  # `local-mcp serve` refuses at start


@pytest.mark.skipif(os.name != "posix", reason="POSIX owners and modes")
@pytest.mark.parametrize(("mode", "who"), [(0o777, "every user can write"), (0o770, "its group can write")])
def test_a_cache_folder_others_can_write_is_refused_when_it_cannot_be_made_private(settings, monkeypatch, mode, who):
    from local_mcp.auth.cache import ensure_private_dir

    folder = settings.resolved_cache_dir()
    folder.mkdir()
    os.chmod(folder, mode)
    real_chmod = os.chmod

    def no_permissions(path, *args, **kwargs):  # a file system that ignores chmod (vfat, some network drives)
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chmod", no_permissions)
    with pytest.raises(CacheUnavailableError, match=f"{folder}.*{who} in it \\(mode {mode:o}"):
        ensure_private_dir(folder)
    monkeypatch.setattr(os, "chmod", real_chmod)
    os.chmod(folder, mode)
    ensure_private_dir(folder)  # where chmod works, the folder is simply made private
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
