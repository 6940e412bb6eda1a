"""Servers killed (SIGKILL) in the middle of a token refresh: nobody is blocked, nothing is lost.

Real processes (tests/integration/cache_stress.py workers: a real TokenProvider, MSAL and
the plaintext cache) against the emulator, which holds the refresh requests in flight
(`Emulator.hold`) so that each kill lands while its process waits for the token endpoint,
holding the lock of that refresh. Before them, a process holding the cache's own lock is
killed too. The survivors, the processes that waited for the killed ones, and processes
started afterwards must all get their tokens, and the cache must be whole.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from local_mcp.auth.cache import open_token_cache
from local_mcp.config import Settings
from tests.integration.cache_stress import SCOPES, check_cache, sign_in_once, start_worker
from tests.integration.conftest import base_env
from tests.test_cache_lock import hold_lock

pytestmark = [pytest.mark.integration, pytest.mark.skipif(os.name != "posix", reason="SIGKILL")]
REFRESH = "token.refresh_token"


def wait_for_line(log: Path, text: str, timeout: float = 120) -> None:
    """Until `text` is in the log (a process reached a point), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while text not in (log.read_text(errors="replace") if log.exists() else ""):
        assert time.monotonic() < deadline, f"{log.name} never logged {text!r}"
        time.sleep(0.05)


def test_processes_killed_during_a_refresh_block_nobody_and_lose_nothing(emulator, tmp_path: Path):
    env = base_env(emulator, tmp_path)
    env["LOCAL_MCP_LOG_LEVEL"] = "INFO"  # the workers say when they wait for a lock
    emulator.token_lifetime = 3600  # a token another process just stored is good to use
    sign_in_once(env)
    cache_dir = Path(env["LOCAL_MCP_CACHE_DIR"])
    emulator.reset_counts()

    # 1. The cache lock, held by a process that is killed: its file stays behind, naming it.
    lock = cache_dir / "token_cache.bin.lockfile"
    holder = hold_lock(lock)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert lock.exists()

    # 2. Four processes refresh four tokens; the emulator keeps every answer back.
    emulator.hold(REFRESH, times=4)
    first = {n: start_worker(env, tmp_path, f"first-{n}", SCOPES[n]) for n in range(4)}
    emulator.wait_held(REFRESH, 4)

    # 3. Two more want the tokens of processes 0 and 2, and wait for the locks of those refreshes.
    waiters = {n: start_worker(env, tmp_path, f"waiter-{n}", SCOPES[n]) for n in (0, 2)}
    for waiter in waiters.values():
        wait_for_line(waiter.log, "Waiting for ")

    # 4. SIGKILL processes 0 and 1 while their refreshes are in flight, then let the others' answers go.
    for n in (0, 1):
        first[n].proc.send_signal(signal.SIGKILL)
        assert first[n].finish()["returncode"] == -signal.SIGKILL
    emulator.release()
    done = {f"first-{n}": first[n].finish() for n in (2, 3)}
    done |= {f"waiter-{n}": w.finish() for n, w in waiters.items()}

    # 5. A process started afterwards refreshes the token whose refresh died with process 1.
    done["after-1"] = start_worker(env, tmp_path, "after-1", SCOPES[1]).finish()

    for name, result in done.items():
        assert result["returncode"] == 0 and result["ok"] == 1, f"{name}: {result}"
        for bad in ("corrupt", "CRITICAL", "Traceback"):
            assert bad not in result["log"], f"{name} logged {bad!r}: {result['log'][-2000:]}"
    # Refreshes: the four held ones, waiter-0 (its token's refresh died with process 0) and
    # after-1. waiter-2 waited for process 2's refresh and then read its token from the cache.
    assert emulator.counts[REFRESH] == 6
    assert emulator.counts["authorize"] == 0  # nobody had to sign in again

    settings = Settings.load(env)
    cache, info = open_token_cache(settings)
    assert info.notices == []
    check_cache(cache, cache_dir, emulator, processes=4)  # one account, its RT, all 4 tokens, no lock left
