"""The non-secret record of who signed in, kept next to the token cache.

It lets every process find "its" account in the cache without asking the user,
and lets `auth_status` answer without building MSAL. It holds no token.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .cache import atomic_write_private, ensure_private_dir

logger = logging.getLogger(__name__)

ACCOUNT_FILE_NAME = "account.json"


@dataclass
class AccountRecord:
    home_account_id: str
    username: str
    authority: str
    # resource -> scopes granted so far (short names, e.g. "User.Read")
    granted_scopes: dict[str, list[str]] = field(default_factory=dict)

    def grant(self, resource: str, scopes: list[str]) -> bool:
        """Remember scopes as granted; True when something new was learned."""
        known = set(self.granted_scopes.get(resource, []))
        merged = known | set(scopes)
        if merged == known:
            return False
        self.granted_scopes[resource] = sorted(merged)
        return True


class AccountStore:
    """Reads and writes account.json atomically (mode 0600)."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / ACCOUNT_FILE_NAME

    def load(self) -> AccountRecord | None:
        try:
            raw: Any = json.loads(self.path.read_text(encoding="utf-8"))
            return AccountRecord(
                home_account_id=str(raw["home_account_id"]),
                username=str(raw["username"]),
                authority=str(raw["authority"]),
                granted_scopes={str(k): [str(s) for s in v] for k, v in dict(raw.get("granted_scopes", {})).items()},
            )
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            logger.warning("Ignoring an unreadable account record at %s (%s).", self.path, type(exc).__name__)
            return None

    def save(self, record: AccountRecord) -> None:
        ensure_private_dir(self.path.parent)
        atomic_write_private(self.path, json.dumps(asdict(record), indent=2, sort_keys=True).encode("utf-8"))

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the record's cross-process lock, so a read-change-write is not lost to another process."""
        from msal_extensions import CrossPlatLock

        ensure_private_dir(self.path.parent)
        with CrossPlatLock(f"{self.path}.lockfile"):
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
