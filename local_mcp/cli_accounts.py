"""`local-mcp accounts`: the signed-in accounts, which one is active (reads the account record only)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict

from .config import Settings


async def list_accounts(settings: Settings, as_json: bool, out: Callable[[str], None]) -> int:
    from .auth.tokens import TokenProvider

    async with TokenProvider(settings) as tokens:
        accounts = await tokens.list_accounts()
    if as_json:
        out(json.dumps([asdict(a) for a in accounts], indent=2))
        return 0
    if not accounts:
        out("Nobody is signed in. Run `local-mcp login`.")
        return 0
    for account in accounts:
        marker = "*" if account.active else " "
        out(f"{marker} {account.username:40s} {account.kind:15s} tenant {account.tenant_id}")
    out("(* active; `local-mcp logout --account USERNAME` signs one out)")
    return 0


def check_account(settings: Settings, account: str) -> None:
    """Raise UnknownAccountError (a ConfigError naming the known accounts) unless `account` is remembered."""
    from .auth.account import AccountStore
    from .auth.switching import AccountSwitching

    AccountSwitching.resolve_account(AccountStore(settings.resolved_cache_dir()).load_book(), account)
