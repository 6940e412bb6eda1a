"""Many processes refreshing tokens on one token cache, and what must hold afterwards.

    python -m tests.integration.cache_stress SCOPE ROUNDS RESULT_JSON

is one worker: a real TokenProvider (so the real persistence chooser, PersistedTokenCache
and its lock) configured from LOCAL_MCP_* like the server, asking ROUNDS times for a Graph
token with SCOPE. The emulator issues 120-second tokens, which MSAL treats as expired, so
every round redeems the refresh token and writes the cache.

`run_stress()` signs in once with `local-mcp login`, starts the workers together, and
`check_cache()` proves that nothing was lost: one account, its refresh token, every
worker's access token, no lock left behind, nothing set aside.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[2]
SCOPES = ("Mail.Read", "Calendars.Read", "Files.Read", "People.Read", "Contacts.Read", "Tasks.Read", "Notes.Read", "Sites.Read.All")


@dataclass
class StressOutcome:
    seconds: float
    results: list[dict[str, Any]]
    stderr: list[str]


@dataclass
class Worker:
    """One `python -m tests.integration.cache_stress` process."""

    proc: subprocess.Popen[bytes]
    result: Path
    log: Path

    def finish(self, timeout: float = 300) -> dict[str, Any]:
        """Wait for it; what it reported (ok, errors, backend, pid), its exit code and its log."""
        self.proc.wait(timeout=timeout)
        data = json.loads(self.result.read_text()) if self.result.exists() else {"ok": 0, "errors": [f"exit {self.proc.returncode}"]}
        data["returncode"] = self.proc.returncode
        data["log"] = self.log.read_text(errors="replace") if self.log.exists() else ""
        return data


def sign_in_once(env: dict[str, str]) -> None:
    """`local-mcp login` in the browser (the emulator's headless one)."""
    login = subprocess.run(
        [sys.executable, "-m", "local_mcp", "login"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert login.returncode == 0, login.stderr[-3000:]


def start_worker(env: dict[str, str], workdir: Path, name: str, scope: str, rounds: int = 1) -> Worker:
    result, log = workdir / f"{name}.json", workdir / f"{name}.log"
    with open(log, "wb") as stderr:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.cache_stress", scope, str(rounds), str(result)],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr,
        )
    return Worker(proc, result, log)


def run_stress(emu: Any, env: dict[str, str], workdir: Path, *, processes: int = 8, rounds: int = 50) -> StressOutcome:
    """Sign in once, then `processes` workers refresh `rounds` times each, all at once."""
    emu.token_lifetime = 120  # under MSAL's 5-minute margin: every silent call refreshes
    sign_in_once(env)
    emu.reset_counts()

    started = time.monotonic()
    workers = [start_worker(env, workdir, f"worker-{n}", SCOPES[n % len(SCOPES)], rounds) for n in range(processes)]
    results, logs = [], []
    for worker in workers:
        data = worker.finish()
        logs.append(data.pop("log"))
        results.append(data)
    return StressOutcome(time.monotonic() - started, results, logs)


def check_outcome(outcome: StressOutcome, emu: Any, *, processes: int = 8, rounds: int = 50) -> None:
    for n, (result, log) in enumerate(zip(outcome.results, outcome.stderr)):
        assert result["returncode"] == 0 and result["ok"] == rounds, f"worker {n}: {result} {log[-2000:]}"
        for bad in ("corrupt", "CRITICAL", "Traceback"):
            assert bad not in log, f"worker {n} logged {bad!r}: {log[-2000:]}"
    # Every round really refreshed, once: a busy cache lock is waited for, never a reason to
    # redeem the refresh token again.
    assert emu.counts["token.refresh_token"] == processes * rounds
    assert emu.counts["authorize"] == 0  # nobody had to sign in again


def check_cache(cache: Any, cache_dir: Path, emu: Any, *, processes: int = 8) -> None:
    """The cache after the storm: whole, one account, its refresh token, every worker's token."""
    accounts = list(cache.search("Account"))
    assert len(accounts) == 1, accounts
    refresh_tokens = list(cache.search("RefreshToken"))
    assert len(refresh_tokens) == 1 and refresh_tokens[0]["secret"] in emu.refresh_tokens
    targets = {entry["target"] for entry in cache.search("AccessToken")}
    for scope in SCOPES[:processes]:
        assert f"{emu.graph_resource}/{scope}" in targets, f"the access token for {scope} was lost: {sorted(targets)}"
    from local_mcp.auth.account import AccountStore

    record = AccountStore(cache_dir).load()
    assert record is not None and record.home_account_id == accounts[0]["home_account_id"]
    granted = set(record.granted_scopes.get(emu.graph_resource, []))
    assert set(SCOPES[:processes]) <= granted, f"account.json lost granted scopes: {sorted(granted)}"
    leftovers = sorted(p.name for p in cache_dir.iterdir() if p.name.endswith((".lockfile", ".tmp")) or ".corrupt-" in p.name)
    assert leftovers == [], f"left behind: {leftovers}"


async def _work(scope: str, rounds: int) -> dict[str, Any]:
    from local_mcp.auth.tokens import TokenProvider
    from local_mcp.config import Settings

    settings = Settings.load()
    ok, errors = 0, []
    async with TokenProvider(settings) as tokens:
        for _ in range(rounds):
            try:
                token = await tokens.get_token(settings.graph_resource, [scope], interactive=False)
                assert token.token.startswith("eyJ")
                ok += 1
            except Exception as exc:  # collect, so that the test can say what went wrong
                errors.append(f"{type(exc).__name__}: {exc}")
        status = await tokens.status()
    return {"ok": ok, "errors": errors[:5], "backend": status.cache_backend, "pid": os.getpid()}


def main() -> int:
    import anyio

    from local_mcp.logs import configure_logging

    scope, rounds, result_path = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    configure_logging(os.environ.get("LOCAL_MCP_LOG_LEVEL", "WARNING"))
    result = anyio.run(_work, scope, rounds)
    result_path.write_text(json.dumps(result))
    return 0 if result["ok"] == rounds else 1


if __name__ == "__main__":
    sys.exit(main())
