"""A cache folder that cannot be written, or a full disk: found before any sign-in, shown in auth_status."""

from __future__ import annotations

import errno
from collections import namedtuple

import pytest

from local_mcp.auth import cache_space
from local_mcp.auth.cache_space import CacheNotWritableError, write_problem
from local_mcp.errors import CacheUnavailableError
from tests.fakes import FakeApp

GRAPH = "https://graph.example"
Usage = namedtuple("Usage", "total used free")


def full_disk(monkeypatch, free: int = 10 * 1024) -> None:
    monkeypatch.setattr(cache_space.shutil, "disk_usage", lambda path: Usage(10**9, 10**9 - free, free))


def failing_writes(monkeypatch, code: int) -> None:
    def refuse(*args, **kwargs):
        raise OSError(code, "refused")

    monkeypatch.setattr(cache_space.tempfile, "mkstemp", refuse)


def test_a_writable_folder_has_no_problem_and_keeps_no_probe(tmp_path):
    assert write_problem(tmp_path) is None
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_is_found_by_its_free_space(tmp_path, monkeypatch):
    full_disk(monkeypatch)
    assert (write_problem(tmp_path) or "").startswith("the disk is full: 10 KiB free")


@pytest.mark.parametrize(
    ("code", "said"),
    [(errno.ENOSPC, "the disk is full"), (errno.EROFS, "read-only file system"), (errno.EACCES, "no permission")],
)
def test_a_write_that_fails_is_said_in_words(tmp_path, monkeypatch, code, said):
    failing_writes(monkeypatch, code)
    assert said in (write_problem(tmp_path) or "")


async def test_no_browser_opens_when_the_tokens_could_not_be_saved(make_provider, fake_app, settings, monkeypatch):
    settings.resolved_cache_dir().mkdir(parents=True, exist_ok=True)
    full_disk(monkeypatch)
    async with make_provider() as tokens:
        with pytest.raises(CacheNotWritableError) as refused:
            await tokens.get_token(GRAPH, ["User.Read"])
        status = await tokens.status()
    assert fake_app.count("interactive") == 0
    message = str(refused.value)
    assert str(settings.resolved_cache_dir()) in message and "disk is full" in message and "Free some disk space" in message
    assert status.cache_problem == message


async def test_a_device_code_is_not_shown_either(make_provider, fake_app, settings, monkeypatch):
    settings.resolved_cache_dir().mkdir(parents=True, exist_ok=True)
    failing_writes(monkeypatch, errno.EROFS)
    async with make_provider(settings.with_changes(auth_mode="device_code")) as tokens:
        with pytest.raises(CacheNotWritableError, match="read-only file system.*LOCAL_MCP_CACHE_DIR"):
            await tokens.get_token(GRAPH, ["User.Read"])
    assert fake_app.device_scopes == []


async def test_a_full_disk_met_by_a_refresh_is_a_clear_error(make_provider, settings):
    from tests.fakes import USER

    class FullDiskApp(FakeApp):
        def acquire_token_silent_with_error(self, scopes, account, **kwargs):
            raise OSError(errno.ENOSPC, "No space left on device")

    from local_mcp.auth.account import AccountStore
    from tests.test_tokens import _record

    AccountStore(settings.resolved_cache_dir()).save(_record())
    async with make_provider(app=FullDiskApp(accounts=[dict(USER)])) as tokens:
        with pytest.raises(CacheUnavailableError, match="cannot be written \\(the disk is full\\)"):
            await tokens.get_token(GRAPH, ["User.Read"], interactive=False)


def test_nothing_is_probed_in_a_folder_not_made_yet(tmp_path):
    assert write_problem(tmp_path / "not-yet") is None
    assert not (tmp_path / "not-yet").exists()
