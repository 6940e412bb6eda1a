"""The non-secret record of who signed in, kept next to the token cache.

It lets every process find "its" account in the cache without asking the user,
and lets `auth_status` answer without building MSAL. It holds no token.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cache import atomic_write_private, ensure_private_dir
from .cache_lock import FileLock

if TYPE_CHECKING:
    from .accounts import AccountBook

logger = logging.getLogger(__name__)

ACCOUNT_FILE_NAME = "account.json"


@dataclass
class AccountRecord:
    home_account_id: str
    username: str
    authority: str
    # resource -> scopes granted so far (short names, e.g. "User.Read")
    granted_scopes: dict[str, list[str]] = field(default_factory=dict)
    tenant_id: str = ""  # the account's home tenant (for personal accounts the MSA tenant)

    def grant(self, resource: str, scopes: list[str]) -> bool:
        """Remember scopes as granted; True when something new was learned."""
        known = set(self.granted_scopes.get(resource, []))
        merged = known | set(scopes)
        if merged == known:
            return False
        self.granted_scopes[resource] = sorted(merged)
        return True


class AccountStore:
    """Reads and writes account.json atomically (mode 0600): every remembered account, one active.

    `load`, `save` and `update` work on the active account (see accounts.py for the book).
    """

    def __init__(self, directory: Path) -> None:
        self.path = directory / ACCOUNT_FILE_NAME

    def load(self) -> AccountRecord | None:
        """The active account."""
        return self.load_book().active_record()

    def load_book(self) -> AccountBook:
        from .accounts import AccountBook, book_from_json

        try:
            raw: Any = json.loads(self.path.read_text(encoding="utf-8"))
            return book_from_json(raw)
        except FileNotFoundError:
            return AccountBook()
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            logger.warning("Ignoring an unreadable account record at %s (%s).", self.path, type(exc).__name__)
            return AccountBook()

    def save(self, record: AccountRecord) -> None:
        """Remember `record` (added, or replacing the same account) as the active account."""
        book = self.load_book()
        book.upsert(record, make_active=True)
        self.save_book(book)

    def save_book(self, book: AccountBook) -> None:
        if not book.accounts:
            self.clear()
            return
        ensure_private_dir(self.path.parent)
        atomic_write_private(self.path, json.dumps(book.to_json(), indent=2, sort_keys=True).encode("utf-8"))

    def update_book(self, change: Callable[[AccountBook], bool]) -> AccountBook:
        """Read, change and write the whole book under the lock; `change` returns False to leave it as is."""
        with self.locked():
            book = self.load_book()
            if change(book):
                self.save_book(book)
            return book

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the record's cross-process lock, so a read-change-write is not lost to another process."""
        ensure_private_dir(self.path.parent)
        with FileLock(f"{self.path}.lockfile"):
            yield

    def update(self, change: Callable[[AccountRecord | None], AccountRecord | None]) -> None:
        """Read, change and write the record under the lock; `change` returns None to leave it as is."""
        with self.locked():
            changed = change(self.load())
            if changed is not None:
                self.save(changed)

    def clear(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
