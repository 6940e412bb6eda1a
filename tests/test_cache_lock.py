"""The cross-process lock: exclusive across processes, and never held by a dead process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from local_mcp.auth.cache_lock import FileLock, LockError, describe_stuck_lock, refresh_lock_path

ROOT = Path(__file__).parents[1]

_HOLDER = """
import sys, time
sys.path.insert(0, sys.argv[2])
from local_mcp.auth.cache_lock import FileLock
held = FileLock(sys.argv[1]).__enter__()  # keep it referenced: a collected handle is closed
print("locked", flush=True)
time.sleep(600)
"""

_COUNTER = """
import sys
sys.path.insert(0, sys.argv[3])
from pathlib import Path
from local_mcp.auth.cache_lock import FileLock
counter = Path(sys.argv[1])
for _ in range(int(sys.argv[2])):
    with FileLock(str(counter) + ".lockfile"):
        counter.write_text(str(int(counter.read_text()) + 1))
"""


def hold_lock(lock: Path) -> subprocess.Popen[str]:
    """A live process holding `lock` (it says so on stdout before this returns)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(lock), str(ROOT)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def test_a_live_holder_keeps_others_out_and_is_named(tmp_path):
    lock = tmp_path / "token_cache.bin.lockfile"
    holder = hold_lock(lock)
    try:
        with pytest.raises(LockError):
            with FileLock(lock, timeout=0.2):
                pass
        message = describe_stuck_lock(lock)
        assert f"locked by process {holder.pid}" in message and "still running. Wait for it" in message
    finally:
        holder.kill()
        holder.wait()
    with FileLock(lock, timeout=0.2):  # its holder is dead: free at once
        assert lock.read_text().split()[0].isdigit()
    assert not lock.exists()


def test_processes_counting_under_the_lock_lose_no_increment(tmp_path):
    """Exclusive even while holders unlink the file on release and others already wait on it."""
    counter = tmp_path / "counter"
    counter.write_text("0")
    workers = [
        subprocess.Popen([sys.executable, "-c", _COUNTER, str(counter), "150", str(ROOT)]) for _ in range(4)
    ]
    assert [w.wait(timeout=120) for w in workers] == [0, 0, 0, 0]
    assert counter.read_text() == "600"
    assert not Path(f"{counter}.lockfile").exists()


def test_a_lock_file_left_with_a_dead_pid_is_taken_over(tmp_path):
    lock = tmp_path / "x.lockfile"
    lock.write_text("999999999 /usr/bin/local-mcp")  # what a killed process leaves behind
    with FileLock(lock, timeout=0.2):
        assert lock.read_text().split()[0] != "999999999"


def test_each_token_has_its_own_refresh_lock(tmp_path):
    cache = tmp_path / "token_cache.bin"
    mail = refresh_lock_path(cache, "oid.tid", "https://graph.microsoft.com", "Mail.Read")
    assert mail == refresh_lock_path(cache, "oid.tid", "https://graph.microsoft.com", "Mail.Read")
    assert mail != refresh_lock_path(cache, "oid.tid", "https://graph.microsoft.com", "Calendars.Read")
    assert mail != refresh_lock_path(cache, "other.tid", "https://graph.microsoft.com", "Mail.Read")
    assert mail.parent == tmp_path and mail.name.startswith("token_cache.bin.refresh-") and mail.name.endswith(".lockfile")
