"""auth_status / `local-mcp status`: who is signed in and where the tokens live, without a network call.

TokenProvider inherits `status()`; it never returns a token.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from ..errors import CacheUnavailableError, DeviceCodePrompt
from .accounts import AccountBook, tenant_of
from .cache import CACHE_FILE_NAME, CacheInfo
from .cache_space import check_writable
from .sign_in import effective_mode


@dataclass(frozen=True)
class AuthStatus:
    signed_in: bool
    username: str | None
    authority: str
    auth_mode: str
    effective_auth_mode: str
    cache_backend: str | None
    cache_path: str | None
    cache_encrypted: bool | None
    cache_problem: str | None
    granted_scopes: dict[str, list[str]]
    pending_sign_in: DeviceCodePrompt | None
    cache_location: str | None = None  # where the tokens are, in words (file, or keyring item)
    cache_notice: str | None = None  # e.g. a corrupt cache was set aside
    account_kind: str | None = None  # "work or school" or "personal" (a Microsoft account)
    tenant_id: str | None = None  # the active account's home tenant
    account_count: int = 0  # accounts remembered (list_accounts shows them)


class StatusReport:
    # Provided by TokenProvider.
    settings: Any
    _cache_info: CacheInfo | None

    async def _ensure_cache(self) -> None:
        raise NotImplementedError

    async def _in_thread(self, fn: Any, *args: Any) -> Any:
        raise NotImplementedError

    def _load_book(self) -> AccountBook:
        raise NotImplementedError

    def pending_device_flow(self) -> Any:
        raise NotImplementedError

    def kind_of(self, record: Any) -> str:
        raise NotImplementedError

    async def status(self) -> AuthStatus:
        """Who is signed in and where the tokens live; makes no network call and returns no token."""
        problem = None
        try:
            await self._ensure_cache()
        except CacheUnavailableError as exc:
            problem = str(exc)
        if problem is None:  # a read-only folder or a full disk would lose the next sign-in
            directory = self.settings.resolved_cache_dir()
            try:
                await self._in_thread(functools.partial(check_writable, directory, cache_file=directory / CACHE_FILE_NAME))
            except CacheUnavailableError as exc:
                problem = str(exc)
        book = await self._in_thread(self._load_book)
        record = book.active_record()
        info = self._cache_info
        try:
            effective = effective_mode(self.settings)
        except Exception as exc:  # a forced broker on Linux: say so rather than fail the status
            effective = f"unavailable ({exc})"
        return AuthStatus(
            signed_in=record is not None,
            username=record.username if record else None,
            authority=self.settings.authority,
            auth_mode=self.settings.auth_mode,
            effective_auth_mode=effective,
            cache_backend=info.backend if info else None,
            cache_path=str(info.path) if info else None,
            cache_encrypted=info.encrypted if info else None,
            cache_problem=problem,
            granted_scopes=dict(record.granted_scopes) if record else {},
            pending_sign_in=pending.prompt if (pending := self.pending_device_flow()) else None,
            cache_location=info.location if info else None,
            cache_notice=info.notices[-1] if info and info.notices else None,
            account_kind=self.kind_of(record) if record else None,
            tenant_id=(record.tenant_id or tenant_of(record.home_account_id)) if record else None,
            account_count=len(book.accounts),
        )
