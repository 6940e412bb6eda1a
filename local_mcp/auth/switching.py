"""Several accounts on one TokenProvider: list, switch, and which account a call works with.

TokenProvider inherits these. Nothing here touches the network: listing reads the account
record, switching changes which account the next calls use (their tokens then come silently
from the cache), and a call keeps the account it started with (`pinned_account`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import ConfigError
from .account import AccountRecord, AccountStore
from .accounts import AccountBook, account_kind, pinned_account, refresh_authority, tenant_of

T = TypeVar("T")

# How long a token held in memory must still be valid to be used without reading the record.
_MEMORY_MARGIN_SECONDS = 300


@dataclass(frozen=True)
class AccountSummary:
    """One remembered account, as list_accounts shows it (never a token)."""

    username: str
    home_account_id: str
    tenant_id: str
    kind: str  # "work or school" or "personal"
    authority: str
    active: bool
    granted_scopes: dict[str, list[str]]


class UnknownAccountError(ConfigError):
    """switch_account / sign_out named an account that is not remembered."""


class AccountSwitching:
    # Provided by TokenProvider.
    _memory: dict[Any, Any]
    _key_locks: dict[Any, Any]
    _active: str | None
    _active_known: bool
    _apps: dict[str, Any]
    _app: Any
    _app_factory: Any
    _token_cache: Any
    _http_cache: Any
    settings: Any

    def _account_store(self) -> AccountStore:
        raise NotImplementedError

    def _load_book(self) -> AccountBook:
        raise NotImplementedError

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    async def _ensure_cache(self) -> None:
        raise NotImplementedError

    # ----- public ----------------------------------------------------------------------------------

    async def list_accounts(self) -> list[AccountSummary]:
        """Every remembered account and which one is active; reads the account record only."""
        book = await self._in_thread(self._load_book)
        return [self.summary(record, book.active == record.home_account_id) for record in book.accounts]

    async def switch_account(self, account: str) -> AccountSummary:
        """Make `account` (a username or home account id) active for the next calls."""

        def change(book: AccountBook) -> bool:
            record = self.resolve_account(book, account)
            if book.active == record.home_account_id:
                return False
            book.active = record.home_account_id
            return True

        book = await self._in_thread(self._account_store().update_book, change)
        record = self.resolve_account(book, account)
        self._active, self._active_known = record.home_account_id, True
        pinned_account.set(record.home_account_id)  # the caller's own next requests too
        return self.summary(record, True)

    # ----- helpers ---------------------------------------------------------------------------------

    def _refresh_app_blocking(self, home_id: str | None) -> Any:
        """The MSAL app whose authority refreshes this account: a personal account on `common` uses `consumers`."""
        authority = refresh_authority(self.settings.authority, self._load_book().get(home_id))
        if authority == self.settings.authority:
            return self._app
        from .msal_app import build_public_client as _build_public_client
        from .sign_in import effective_mode as _effective_mode

        app = self._apps.get(authority)
        if app is None:
            use_broker = _effective_mode(self.settings) == "broker" if self.settings.auth_mode in ("auto", "broker") else False
            factory = self._app_factory or functools.partial(_build_public_client, use_broker=use_broker)
            app = self._apps[authority] = factory(
                self.settings.with_changes(authority=authority), self._token_cache, self._http_cache
            )
        return app


    @staticmethod
    def kind_of(record: AccountRecord) -> str:
        return account_kind(record)

    @staticmethod
    def summary(record: AccountRecord, active: bool) -> AccountSummary:
        return AccountSummary(
            username=record.username,
            home_account_id=record.home_account_id,
            tenant_id=record.tenant_id or tenant_of(record.home_account_id),
            kind=account_kind(record),
            authority=record.authority,
            active=active,
            granted_scopes=dict(record.granted_scopes),
        )

    @staticmethod
    def resolve_account(book: AccountBook, key: str) -> AccountRecord:
        record = book.find(key)
        if record is None:
            known = ", ".join(r.username for r in book.accounts) or "none (sign in first)"
            raise UnknownAccountError(
                f"No remembered account is {key!r}. Remembered accounts: {known}. "
                "Use list_accounts to see them, or sign_in with add=true to add one."
            )
        return record

    async def _account_for_call(self, key: Any) -> str | None:
        """The account this call works with: pinned at its first token request, else the active one.

        A token in memory for the active account answers without any I/O; otherwise the record is
        read again (another process, e.g. `local-mcp login`, may have changed the active account).
        """
        pinned = pinned_account.get()
        if pinned is not None:
            return pinned
        held = self._memory.get((self._active, key)) if self._active_known else None
        if held is None or not held.valid_for(_MEMORY_MARGIN_SECONDS):
            await self._ensure_cache()  # an unusable cache folder is reported as such, before the record is read
            book = await self._in_thread(self._load_book)
            self._active, self._active_known = book.active, True
        if self._active is not None:
            pinned_account.set(self._active)
        return self._active

    def _forget_accounts(self, home_ids: Iterable[str]) -> None:
        """Drop what this process holds for signed-out accounts (tokens in memory, the active id)."""
        gone = set(home_ids)
        for key in [k for k in self._memory if k[0] in gone or k[0] is None]:
            del self._memory[key]
        if self._active in gone:
            self._active_known = False
        pinned_account.set(None)
