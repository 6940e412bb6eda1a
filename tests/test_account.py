"""The account record: atomic, private, and safe against concurrent read-change-write."""

from __future__ import annotations

import os
import stat
import threading

from local_mcp.auth.account import AccountRecord, AccountStore


def test_round_trip_and_mode(tmp_path):
    store = AccountStore(tmp_path)
    store.save(AccountRecord("h.t", "adele@contoso.example", "https://login.example/t", {"https://g": ["User.Read"]}))
    assert store.load() == AccountRecord("h.t", "adele@contoso.example", "https://login.example/t", {"https://g": ["User.Read"]})
    if os.name == "posix":
        assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_unreadable_record_is_ignored(tmp_path):
    (tmp_path / "account.json").write_text("{broken")
    assert AccountStore(tmp_path).load() is None


def test_concurrent_grants_are_not_lost(tmp_path):
    AccountStore(tmp_path).save(AccountRecord("h.t", "adele@contoso.example", "https://login.example/t"))
    scopes = [f"Scope{n}.Read" for n in range(16)]
    start = threading.Barrier(len(scopes))

    def grant(scope: str) -> None:
        store = AccountStore(tmp_path)  # like separate processes: no shared object
        start.wait()

        def change(record):
            return record if record is not None and record.grant("https://g", [scope]) else None

        store.update(change)

    threads = [threading.Thread(target=grant, args=(s,)) for s in scopes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    record = AccountStore(tmp_path).load()
    assert record is not None and record.granted_scopes["https://g"] == sorted(scopes)
    assert not (tmp_path / "account.json.lockfile").exists()
