"""A fake MSAL PublicClientApplication for unit tests: the seam is MSAL's public methods.

It records every call, answers from a scripted queue, and keeps accounts the way
MSAL does (home_account_id, username, local_account_id), so the TokenProvider's
logic runs unchanged on top of it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msal

from local_mcp.auth.cache import CacheInfo

USER = {
    "home_account_id": "oid-1.tid-1",
    "username": "adele@contoso.example",
    "local_account_id": "oid-1",
    "environment": "login.example",
    "realm": "tid-1",
}


def token_result(scopes: list[str], *, token: str = "at-secret", expires_in: int = 3600) -> dict[str, Any]:
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": " ".join(scopes),
        "id_token_claims": {"oid": USER["local_account_id"], "preferred_username": USER["username"], "name": "Adele"},
    }


@dataclass
class FakeApp:
    """Scripted stand-in for msal.PublicClientApplication."""

    accounts: list[dict[str, Any]] = field(default_factory=list)
    silent_results: list[Any] = field(default_factory=list)  # popped per silent call; default: from `tokens`
    interactive_results: list[dict[str, Any]] = field(default_factory=list)
    interactive_delay: float = 0.0
    device_flow_delay: float = 0.2
    device_result: dict[str, Any] | None = None
    interactive_gate: threading.Event | None = None  # when given, a browser sign-in completes once it is set
    device_gate: threading.Event | None = None  # when given, a device flow completes once it is set
    tokens: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)  # scopes -> result
    calls: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_silent_kwargs: dict[str, Any] = field(default_factory=dict)
    device_scopes: list[list[str]] = field(default_factory=list)  # the scopes of each device flow started

    def _record(self, name: str) -> None:
        with self.lock:
            self.calls.append(name)

    def count(self, name: str) -> int:
        return sum(1 for c in self.calls if c == name)

    def get_accounts(self, username: str | None = None) -> list[dict[str, Any]]:
        return list(self.accounts)

    def acquire_token_silent_with_error(self, scopes: list[str], account: dict[str, Any], **kwargs: Any) -> Any:
        self._record("silent")
        self.last_silent_kwargs = kwargs
        if self.silent_results:
            return self.silent_results.pop(0)
        exact = self.tokens.get(tuple(sorted(scopes)))
        if exact is not None:
            return exact
        # Like MSAL's cache: a token granted for more scopes serves a request for fewer.
        return next((result for key, result in self.tokens.items() if set(scopes) <= set(key)), None)

    def _sign_in(self, scopes: list[str]) -> dict[str, Any]:
        result = self.interactive_results.pop(0) if self.interactive_results else token_result(scopes)
        if "access_token" in result:
            if USER not in self.accounts:
                self.accounts.append(dict(USER))
            self.tokens[tuple(sorted(scopes))] = result
        return result

    def acquire_token_interactive(self, scopes: list[str], **kwargs: Any) -> dict[str, Any]:
        self._record("interactive")
        self.last_interactive_kwargs = kwargs
        if self.interactive_gate is not None:  # the test says when the person has signed in
            self.interactive_gate.wait(30)
        if self.interactive_delay:
            time.sleep(self.interactive_delay)
        return self._sign_in(scopes)

    def initiate_device_flow(self, scopes: list[str], **kwargs: Any) -> dict[str, Any]:
        self._record("initiate_device_flow")
        self.device_scopes.append(sorted(scopes))
        number = len(self.device_scopes)
        return {
            "device_code": "device-secret",
            "user_code": "ABCD-EFGH" if number == 1 else f"ABCD-EFG{number}",  # each flow its own code
            "verification_uri": "https://login.example/device",
            "expires_in": 900,
            "expires_at": time.time() + 900,
            "interval": 1,
            "message": "To sign in, open https://login.example/device and enter ABCD-EFGH.",
            "_scopes": scopes,
        }

    def acquire_token_by_device_flow(self, flow: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        self._record("device_flow")
        if self.device_gate is not None:  # the test says when the user has entered the code
            while not self.device_gate.wait(0.05) and flow["expires_at"] != 0:
                pass
        else:
            deadline = time.time() + 5
            while time.time() < deadline and time.time() < flow["expires_at"]:
                time.sleep(0.05)
                if time.time() - deadline + 5 >= self.device_flow_delay:
                    break
        if flow["expires_at"] == 0:
            return {"error": "authorization_pending", "error_description": "aborted"}
        if self.device_result is not None:
            return self.device_result
        return self._sign_in(flow["_scopes"])

    def remove_account(self, account: dict[str, Any]) -> None:
        self._record("remove_account")
        self.accounts = [a for a in self.accounts if a["home_account_id"] != account["home_account_id"]]
        self.tokens.clear()


def memory_cache_opener(path: Path):
    """A cache opener that keeps MSAL's real SerializableTokenCache in memory."""

    def opener(settings: Any) -> tuple[Any, CacheInfo]:
        return msal.SerializableTokenCache(), CacheInfo("plaintext", path, False)

    return opener
