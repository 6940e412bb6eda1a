"""A device-code sign-in outlives the server process that showed its code.

A client that runs one call per process (the MCP Inspector CLI) stops the server right
after the call that showed the code, before the person has entered it. So:

    hand_off()          when the server stops while a device-code sign-in still waits, the
                        flow goes to a detached child (`python -m local_mcp.auth.device_handoff`)
                        over its stdin: the secret device code never touches the disk
    the child           polls MSAL until the person signs in or the code expires, stores the
                        tokens in the shared cache and the account record, then exits
    device_sign_in.json in the cache folder, mode 0600, nothing secret: the code the person
                        sees, its expiry, the scopes, the child's pid, and its state
    read_handoff()      the next server process: a live "pending" record means that code again
                        (no new flow); it watches the file until the child is done, then its
                        calls get their tokens silently from the cache
    cancel()            sign-out: the record says "cancelled"; the child stops polling (MSAL's
                        documented stop, expires_at = 0) and, if MSAL finished just then, signs
                        the account out again, so nobody is signed in behind the person's back
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import DeviceCodePrompt, SignInFailedError
from .cache import atomic_write_private, ensure_private_dir
from .device_flow import PendingDeviceFlow
from .resource import TokenRequest

logger = logging.getLogger(__name__)

HANDOFF_FILE_NAME = "device_sign_in.json"
WATCH_INTERVAL_SECONDS = 0.5
# What the child needs of the settings to reach the same authority and the same cache.
_SETTINGS_FIELDS = (
    "client_id", "tenant_id", "cloud", "authority", "graph_url", "auth_mode", "cache_dir",
    "allow_unencrypted_cache", "keyring_backend", "sign_in_timeout", "log_level",
)


@dataclass(frozen=True)
class HandoffRecord:
    """What device_sign_in.json says (never the device code)."""

    prompt: DeviceCodePrompt
    resource: str
    scopes: tuple[str, ...]
    pid: int
    state: str  # "pending" | "done" | "failed" | "cancelled"
    error: str = ""

    def live(self) -> bool:
        return self.state == "pending" and self.prompt.expires_at > time.time() and _process_alive(self.pid)


def handoff_path(settings: Any) -> Path:
    return Path(settings.resolved_cache_dir()) / HANDOFF_FILE_NAME


def write_record(path: Path, record: HandoffRecord) -> None:
    data = {
        "verification_uri": record.prompt.verification_uri,
        "user_code": record.prompt.user_code,
        "expires_at": record.prompt.expires_at,
        "message": record.prompt.message,
        "resource": record.resource,
        "scopes": list(record.scopes),
        "pid": record.pid,
        "state": record.state,
        "error": record.error,
    }
    ensure_private_dir(path.parent)
    atomic_write_private(path, json.dumps(data).encode("utf-8"))


def read_handoff(settings: Any) -> HandoffRecord | None:
    """The record a handed-off sign-in left, or None (none, unreadable, or not ours)."""
    try:
        data = json.loads(handoff_path(settings).read_text(encoding="utf-8"))
        return HandoffRecord(
            prompt=DeviceCodePrompt(
                verification_uri=str(data["verification_uri"]),
                user_code=str(data["user_code"]),
                expires_at=float(data["expires_at"]),
                message=str(data.get("message") or ""),
            ),
            resource=str(data["resource"]),
            scopes=tuple(str(s) for s in data["scopes"]),
            pid=int(data["pid"]),
            state=str(data["state"]),
            error=str(data.get("error") or ""),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def hand_off(settings: Any, flow: dict[str, Any], request: TokenRequest, prompt: DeviceCodePrompt, claims: str | None) -> bool:
    """Start the detached child that finishes this flow; True when it runs. Never raises."""
    payload = {
        "settings": {name: _plain(getattr(settings, name)) for name in _SETTINGS_FIELDS},
        "flow": flow,
        "resource": request.resource,
        "scopes": list(request.scopes),
        "claims": claims,
    }
    options: dict[str, Any] = {"start_new_session": True}
    if os.name == "nt":
        options = {"creationflags": subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP}  # type: ignore[attr-defined]
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "local_mcp.auth.device_handoff"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True, **options,
        )
        write_record(handoff_path(settings), HandoffRecord(prompt, request.resource, request.scopes, child.pid, "pending"))
        assert child.stdin is not None
        child.stdin.write(json.dumps(payload).encode("utf-8"))
        child.stdin.close()
    except Exception as exc:  # the sign-in is then lost, as before: the next call shows a new code
        logger.warning("Could not hand the device-code sign-in to a background process: %s", type(exc).__name__)
        return False
    logger.info("The device-code sign-in continues in background process %d until the code expires", child.pid)
    return True


def cancel(settings: Any) -> bool:
    """Sign-out: a handed-off sign-in still waiting for its code must not sign anyone in later. Never raises."""
    record = read_handoff(settings)
    if record is None or record.state != "pending":
        return False
    try:
        write_record(handoff_path(settings), replace(record, state="cancelled", error="signed out before the code was entered"))
    except OSError as exc:
        logger.warning("Could not cancel the background device-code sign-in: %s", type(exc).__name__)
        return False
    logger.info("Cancelled the device-code sign-in of background process %d (signed out)", record.pid)
    return True


def _cancelled(settings: Any, user_code: str) -> bool:
    record = read_handoff(settings)
    return record is not None and record.prompt.user_code == user_code and record.state == "cancelled"


async def _stop_when_cancelled(settings: Any, flow: dict[str, Any], user_code: str) -> None:
    """In the child: end MSAL's polling as soon as the record says the person signed out."""
    import anyio

    while not _cancelled(settings, user_code):
        await anyio.sleep(WATCH_INTERVAL_SECONDS)
    flow["expires_at"] = 0  # MSAL's documented way to stop acquire_token_by_device_flow


def adopt(settings: Any) -> PendingDeviceFlow | None:
    """A live handed-off sign-in as this process's pending flow (no secret in it), or None."""
    record = read_handoff(settings)
    if record is None or not record.live():
        return None
    request = TokenRequest(resource=record.resource, scopes=record.scopes)
    # Announced already, by the process that showed the code: calls here wait for it first.
    return PendingDeviceFlow(prompt=record.prompt, request=request, flow={}, announced=True)


async def watch(settings: Any, pending: PendingDeviceFlow) -> None:
    """Wait until the child that holds the flow is done (or gone); then set `done`."""
    import anyio

    try:
        while not pending.done.is_set():
            record = read_handoff(settings)
            if record is None or record.prompt.user_code != pending.prompt.user_code:
                return  # replaced or removed: whoever waits tries silently, then starts afresh
            if record.state == "failed":
                pending.error = SignInFailedError(record.error or "The device-code sign-in failed.")
                return
            if record.state != "pending" or not record.live():
                return
            if pending.flow.get("expires_at") == 0:  # aborted here (sign-out, shutdown)
                return
            await anyio.sleep(WATCH_INTERVAL_SECONDS)
    finally:
        pending.done.set()


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Path) else value


def _process_alive(pid: int) -> bool:
    if os.name == "nt":
        return True  # os.kill(pid, 0) would end it there; the expiry still bounds the wait
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


async def _finish(payload: dict[str, Any]) -> None:
    from ..config import Settings
    from .resource import build_token_request
    from .sign_in import device_prompt
    from .tokens import TokenProvider

    fields = dict(payload["settings"])
    if fields.get("cache_dir") is not None:
        fields["cache_dir"] = Path(fields["cache_dir"])
    settings = Settings(**fields)
    request = build_token_request(payload["resource"], payload["scopes"])
    flow = payload["flow"]
    prompt = device_prompt(flow)
    path = handoff_path(settings)
    error: Exception | None = None
    import anyio

    try:
        async with TokenProvider(settings) as tokens:
            async with anyio.create_task_group() as group:
                group.start_soon(_stop_when_cancelled, settings, flow, prompt.user_code)
                error = await tokens.finish_device_flow(flow, request, payload.get("claims"))
                group.cancel_scope.cancel()
            if error is None and _cancelled(settings, prompt.user_code):
                await tokens.sign_out()  # MSAL finished as the person signed out: the account it added goes again
                logger.info("Signed out again: the person signed out while the sign-in finished")
    except Exception as exc:
        error = exc
    current = read_handoff(settings)
    if current is not None and current.state == "cancelled":
        return  # the record says why; nothing of this sign-in is kept
    state = "failed" if error is not None else "done"
    if current is None or current.pid == os.getpid():  # a newer sign-in's record is not ours to change
        write_record(path, HandoffRecord(prompt, request.resource, request.scopes, os.getpid(), state, str(error or "")))


def main() -> int:
    import anyio

    payload = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    anyio.run(_finish, payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
