"""What a sign-in leaves behind: the account record (who signed in, which scopes) and sign-out.

TokenProvider inherits these. The record (account.py) is non-secret; the tokens stay in
MSAL's cache. Every change goes through the record's lock, so several processes that
refresh at once do not drop each other's scopes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from .account import AccountRecord, AccountStore
from .accounts import AccountBook, tenant_of
from .switching import AccountSwitching

logger = logging.getLogger(__name__)


class AccountRecords:
    # Provided by TokenProvider.
    _app: Any
    _http_cache: Any
    _store: AccountStore | None
    settings: Any

    def _remember_blocking(
        self, result: dict[str, Any], resource: str, granted: list[str], interactive: bool, home_id: str | None = None
    ) -> str | None:
        """Record the scopes granted to the account the token is for; returns its home account id."""
        if self._http_cache is not None:
            self._http_cache.save_if_changed()
        claims = result.get("id_token_claims") or {}
        account = self._account_for_claims(claims) if interactive else None
        owner = home_id

        def change(book: AccountBook) -> bool:
            nonlocal account, owner
            target = book.get(home_id) if not interactive and home_id is not None else None
            if target is not None:
                return target.grant(resource, granted)
            if not interactive and book.accounts:
                return False  # a refresh for an account removed meanwhile: nothing to record
            if account is None:
                account = self._account_for_claims(claims)
            if account is None:
                return False
            owner = str(account["home_account_id"])
            record = book.get(owner)
            if record is None:
                record = AccountRecord(
                    home_account_id=owner,
                    username=account.get("username") or claims.get("preferred_username") or "",
                    authority=self.settings.authority,
                    tenant_id=str(claims.get("tid") or account.get("realm") or tenant_of(owner)),
                )
                logger.info("Signed in as %s", record.username)
            record.grant(resource, granted)
            book.upsert(record, make_active=True)
            return True

        # Under the record's lock: several processes refreshing at once must not drop each other's scopes.
        self._account_store().update_book(change)
        return owner

    def _account_for_claims(self, claims: Mapping[str, Any]) -> dict[str, Any] | None:
        accounts = self._app.get_accounts()
        oid, username = claims.get("oid"), claims.get("preferred_username")
        for account in accounts:
            if oid and account.get("local_account_id") == oid:
                return account
        for account in accounts:
            if username and str(account.get("username", "")).lower() == str(username).lower():
                return account
        return accounts[0] if len(accounts) == 1 else None

    def _sign_out_blocking(self, key: str | None = None) -> list[tuple[str, str]]:
        """Remove one account (by username or home account id; default the active one) and its tokens."""
        book = self._load_book()
        record = AccountSwitching.resolve_account(book, key) if key is not None else book.active_record()
        removed = []
        for account in self._app.get_accounts():
            if record is None or account.get("home_account_id") == record.home_account_id:
                self._app.remove_account(account)
                removed.append((str(account.get("home_account_id")), str(account.get("username") or "")))
        if record is None:
            self._account_store().clear()
            return removed
        if not removed:  # remembered, but its tokens were already gone from the cache
            removed.append((record.home_account_id, record.username))
        self._account_store().update_book(lambda b: b.remove(record.home_account_id) is not None)
        return removed

    # ----- the account record ----------------------------------------------------------------------

    def _account_store(self) -> AccountStore:
        if self._store is None:
            self._store = AccountStore(self.settings.resolved_cache_dir())
        return self._store

    def _load_record(self) -> AccountRecord | None:
        # Read each time (only on a memory miss): another process or `local-mcp login` may have changed it.
        return self._account_store().load()

    def _load_book(self) -> AccountBook:
        return self._account_store().load_book()
