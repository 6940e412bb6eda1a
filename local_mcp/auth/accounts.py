"""Several accounts: the book of remembered accounts (in account.json) and which one is active.

The file's format (no token in it, ever):

    {"version": 2, "active": "<home account id>",
     "accounts": [{"home_account_id": ..., "username": ..., "authority": ..., "tenant_id": ...,
                   "granted_scopes": {"<resource>": ["User.Read", ...]}}, ...]}

The first format held one account as the top-level object; it is read as a book of that one
account (active) and written back in this format at the next change.
"""

from __future__ import annotations

import contextvars
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .account import AccountRecord

BOOK_VERSION = 2
# The tenant of every personal Microsoft account (the `tid` of their tokens).
MSA_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"

# The account a call works with, fixed at its first token request: a switch_account while the call
# runs does not change whose data the rest of it reads (each MCP request runs in its own task/context).
pinned_account: contextvars.ContextVar[str | None] = contextvars.ContextVar("local_mcp_pinned_account", default=None)


def tenant_of(home_account_id: str) -> str:
    """MSAL's home account id is "<object id>.<tenant id>"."""
    return home_account_id.rpartition(".")[2] if "." in home_account_id else ""


def is_personal(record: AccountRecord) -> bool:
    return (record.tenant_id or tenant_of(record.home_account_id)) == MSA_TENANT_ID


def account_kind(record: AccountRecord) -> str:
    return "personal" if is_personal(record) else "work or school"


def refresh_authority(authority: str, record: AccountRecord | None) -> str:
    """Where silent refreshes for `record` go: a personal account signed in on `common` refreshes on `consumers`.

    Refresh tokens issued on /common for personal accounts have been reported to be rejected at
    their first refresh there (invalid_grant, AADSTS70000), while /consumers keeps refreshing.
    """
    parts = urlsplit(authority)
    segments = parts.path.strip("/").split("/")
    if record is None or not is_personal(record) or not segments or segments[-1].lower() != "common":
        return authority
    segments[-1] = "consumers"
    return f"{parts.scheme}://{parts.netloc}/{'/'.join(segments)}"


@dataclass
class AccountBook:
    accounts: list[AccountRecord] = field(default_factory=list)
    active: str | None = None  # home account id

    def find(self, key: str) -> AccountRecord | None:
        """By home account id, or by username (case-insensitive)."""
        wanted = key.strip().lower()
        for record in self.accounts:
            if record.home_account_id.lower() == wanted:
                return record
        for record in self.accounts:
            if record.username.lower() == wanted:
                return record
        return None

    def get(self, home_account_id: str | None) -> AccountRecord | None:
        return next((r for r in self.accounts if r.home_account_id == home_account_id), None)

    def active_record(self) -> AccountRecord | None:
        return self.get(self.active)

    def upsert(self, record: AccountRecord, *, make_active: bool) -> None:
        self.accounts = [r for r in self.accounts if r.home_account_id != record.home_account_id] + [record]
        if make_active or self.active is None:
            self.active = record.home_account_id

    def remove(self, home_account_id: str) -> AccountRecord | None:
        removed = self.get(home_account_id)
        self.accounts = [r for r in self.accounts if r.home_account_id != home_account_id]
        if self.active == home_account_id:  # the next one becomes active, if any
            self.active = self.accounts[0].home_account_id if self.accounts else None
        return removed

    def to_json(self) -> dict[str, Any]:
        return {"version": BOOK_VERSION, "active": self.active, "accounts": [asdict(r) for r in self.accounts]}


def record_from_json(raw: Any) -> AccountRecord:
    return AccountRecord(
        home_account_id=str(raw["home_account_id"]),
        username=str(raw["username"]),
        authority=str(raw["authority"]),
        granted_scopes={str(k): [str(s) for s in v] for k, v in dict(raw.get("granted_scopes", {})).items()},
        tenant_id=str(raw.get("tenant_id") or ""),
    )


def book_from_json(raw: Any) -> AccountBook:
    """Either format; raises ValueError/KeyError/TypeError/AttributeError on a damaged file."""
    if not isinstance(raw, dict):
        raise TypeError("account record is not an object")
    if "accounts" not in raw:  # the one-account format of earlier versions
        record = record_from_json(raw)
        return AccountBook([record], record.home_account_id)
    accounts = [record_from_json(item) for item in raw["accounts"]]
    active = raw.get("active")
    ids = {r.home_account_id for r in accounts}
    return AccountBook(accounts, str(active) if active in ids else (accounts[0].home_account_id if accounts else None))
