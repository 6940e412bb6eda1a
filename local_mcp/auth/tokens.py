"""TokenProvider: where every access token is acquired.

    get_token(resource, scopes)
      1. memory        a token this process already holds, valid for 5+ minutes: no I/O at all
      2. silent        MSAL: the persistent cache, then the refresh token (one refresh per
                       resource+scopes, however many callers wait for it)
      3. interactive   only when MSAL says interaction is required, one at a time:
                       broker -> system browser -> device code (see sign_in.py)

MSAL itself is imported and built on the first token request, never at start-up.
Blocking MSAL calls run in worker threads; the event loop keeps serving.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from .._gc import quiet_gc
from ..errors import AuthError, CacheUnavailableError, DeviceCodePendingError, DeviceCodePrompt, SignInFailedError
from . import progress
from .account import AccountRecord, AccountStore
from .accounts import AccountBook, pinned_account, tenant_of
from .switching import AccountSwitching
from .cache import CACHE_FILE_NAME, CacheInfo, describe_stuck_lock, open_token_cache
from .cache_lock import FileLock, refresh_lock_path
from .msal_app import HTTP_CACHE_FILE_NAME, PersistentHttpCache, build_public_client
from .msal_errors import admin_consent_url, first_line, interaction_required, needs_interaction, sign_in_failure
from .resource import TokenRequest, build_token_request, short_names
from .sign_in import device_prompt, effective_mode, sign_in_interactively, start_device_flow

logger = logging.getLogger(__name__)

# MSAL refreshes a token with under five minutes left; so do we.
EXPIRY_MARGIN_SECONDS = 300
PROGRESS_INTERVAL_SECONDS = 5.0

T = TypeVar("T")


@dataclass(frozen=True)
class AccessToken:
    token: str = field(repr=False)  # never in a repr, a log line or a tool result
    expires_on: float
    resource: str
    scopes: tuple[str, ...]

    def valid_for(self, seconds: float) -> bool:
        return self.expires_on - time.time() > seconds


@dataclass
class PendingDeviceFlow:
    """A device-code sign-in waiting for the user, polled in the background."""

    prompt: DeviceCodePrompt
    request: TokenRequest
    flow: dict[str, Any] = field(repr=False)  # holds the secret device_code
    done: anyio.Event = field(default_factory=anyio.Event)
    error: AuthError | None = None
    announced: bool = False

    def claim_announcement(self) -> bool:
        """True for the first caller only, so one sign-in is announced to the user once."""
        if self.announced:
            return False
        self.announced = True
        return True

    def covers(self, request: TokenRequest) -> bool:
        return self.request.resource == request.resource and set(request.scopes) <= set(self.request.scopes)


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


def _is_lock_error(exc: BaseException) -> bool:
    """msal-extensions' LockError (portalocker's LockException and its subclasses)."""
    return type(exc).__name__ in ("LockError", "LockException", "AlreadyLocked")


async def in_daemon_thread(blocking: Callable[[], T]) -> T:
    """Run a long blocking sign-in in a daemon thread and await its result.

    anyio's worker threads are not daemons: a browser sign-in waiting for its
    loopback redirect (up to LOCAL_MCP_SIGN_IN_TIMEOUT) would keep the process alive
    after the MCP client has gone. A daemon thread lets the server exit at once.
    If the caller is cancelled, the thread is abandoned and ends on its own timeout.
    """
    import anyio.from_thread
    import anyio.lowlevel

    finished = anyio.Event()
    box: dict[str, Any] = {}
    token = anyio.lowlevel.current_token()

    def target() -> None:
        try:
            box["value"] = blocking()
        except BaseException as exc:  # handed to the awaiting task, which re-raises it
            box["error"] = exc
        finally:
            try:
                anyio.from_thread.run_sync(finished.set, token=token)
            except Exception:  # the event loop is gone: nobody is waiting any more
                pass

    threading.Thread(target=target, name="local-mcp sign-in", daemon=True).start()
    await finished.wait()
    if "error" in box:
        raise box["error"]
    return box["value"]


class TokenProvider(AccountSwitching):
    """Resource-scoped access tokens for the signed-in user. Use as `async with TokenProvider(settings)`."""

    def __init__(
        self,
        settings: Any,
        *,
        app_factory: Callable[[Any, Any, Any], Any] | None = None,
        cache_opener: Callable[[Any], tuple[Any, CacheInfo]] | None = None,
    ) -> None:
        self.settings = settings
        # Seams for unit tests: a fake MSAL application and an in-memory cache.
        self._app_factory = app_factory
        self._cache_opener = cache_opener or open_token_cache
        self._app: Any = None
        self._token_cache: Any = None
        self._cache_info: CacheInfo | None = None
        self._http_cache: PersistentHttpCache | None = None
        self._store: AccountStore | None = None
        # (home account id, (resource, scopes)) -> token: each remembered account has its own.
        self._memory: dict[tuple[str | None, tuple[str, tuple[str, ...]]], AccessToken] = {}
        self._key_locks: dict[tuple[str | None, tuple[str, tuple[str, ...]]], anyio.Lock] = {}
        self._apps: dict[str, Any] = {}  # authority -> MSAL app for refreshes elsewhere (consumers)
        self._active: str | None = None  # the active account, as last read from the account record
        self._active_known = False
        self._setup_lock = anyio.Lock()
        self._interaction_lock = anyio.Lock()
        self._pending: PendingDeviceFlow | None = None
        self._task_group: Any = None

    def _consent_url(self, request: TokenRequest) -> str:
        """The v2 admin-consent link for the scopes of `request` (the ones that failed)."""
        return admin_consent_url(self.settings.authority, self.settings.client_id, scopes=request.msal_scopes)

    # ----- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> TokenProvider:
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self._abort_pending()
        tg, self._task_group = self._task_group, None
        if tg is not None:
            tg.cancel_scope.cancel()
            await tg.__aexit__(*exc_info)

    # ----- the public surface ------------------------------------------------------------------

    async def get_token(
        self,
        resource: str | None,
        scopes: Iterable[str],
        *,
        claims: str | None = None,
        extra_query_params: Mapping[str, Any] | None = None,
        extra_body_params: Mapping[str, Any] | None = None,
        interactive: bool = True,
    ) -> AccessToken:
        """An access token for `resource` with `scopes`: memory, then silent, then sign-in."""
        request = build_token_request(
            resource, scopes, extra_query_params=extra_query_params, extra_body_params=extra_body_params
        )
        home_id = await self._account_for_call(request.key)
        if claims is None:
            held = self._memory.get((home_id, request.key))
            if held is not None and held.valid_for(EXPIRY_MARGIN_SECONDS):
                return held
        lock = self._key_locks.setdefault((home_id, request.key), anyio.Lock())
        async with lock:
            if claims is None:  # another caller may have refreshed it while we waited
                held = self._memory.get((home_id, request.key))
                if held is not None and held.valid_for(EXPIRY_MARGIN_SECONDS):
                    return held
            await self._ensure_app()
            result = await self._in_thread(self._silent_blocking, request, claims, home_id)
            if result is not None and "access_token" in result:
                return await self._accept(result, request, interactive=False, home_id=home_id)
            if result is not None and not needs_interaction(result):
                raise sign_in_failure(result, action="Refreshing the access token", consent_url=self._consent_url(request))
            if not interactive:
                raise interaction_required(
                    result or {}, scopes=list(request.scopes), claims=claims, consent_url=self._consent_url(request)
                )
            return await self._interact(request, claims, home_id=home_id)

    async def sign_in(self, resource: str, scopes: Iterable[str], *, force: bool = False, add: bool = False) -> AccessToken:
        """Sign in now (or add consent for more scopes). `force` skips the cache (same account, asked
        again); `add` signs in one more account (no login hint, the user picks one) and makes it active."""
        if add:
            pinned_account.set(None)
            request = build_token_request(resource, scopes)
            await self._ensure_app()
            return await self._interact(request, None, try_silent_first=False, home_id=None)
        if not force:
            return await self.get_token(resource, scopes)
        request = build_token_request(resource, scopes)
        home_id = await self._account_for_call(request.key)
        await self._ensure_app()
        return await self._interact(request, None, try_silent_first=False, home_id=home_id)

    async def sign_out(self, account: str | None = None) -> list[str]:
        """Remove one account (default: the active one) and its tokens from the cache. Returns the usernames removed."""
        if account is not None:  # an unknown account is an error before MSAL is built (no network)
            self.resolve_account(await self._in_thread(self._load_book), account)
        await self._ensure_app()
        removed = await self._in_thread(self._sign_out_blocking, account)
        self._forget_accounts([home_id for home_id, _ in removed])
        self._abort_pending()
        return [username for _, username in removed]

    async def home_tenant(self) -> str | None:
        """The signed-in account's home tenant id (from MSAL's home_account_id "<oid>.<tid>"), or None."""
        await self._ensure_cache()
        record = await self._in_thread(self._load_record)
        if record is None or "." not in record.home_account_id:
            return None
        return record.home_account_id.rsplit(".", 1)[1] or None

    def pending_device_flow(self) -> PendingDeviceFlow | None:
        pending = self._pending
        return pending if pending is not None and not pending.done.is_set() else None

    async def wait_for_device_flow(self, pending: PendingDeviceFlow, timeout: float, *, label: str = "") -> None:
        """Wait (with progress) until the user finished the device-code sign-in; raise if it failed."""
        start = time.monotonic()
        while not pending.done.is_set():
            remaining = max(0.0, pending.prompt.expires_at - time.time())
            elapsed = time.monotonic() - start
            if elapsed >= timeout or remaining <= 0:
                raise SignInFailedError(
                    "The device-code sign-in was not completed in time. Call the tool again for a new code.",
                    error="timeout",
                )
            await progress.report(
                label or f"Waiting for you to enter the code at {pending.prompt.verification_uri}",
                elapsed,
                float(timeout),
            )
            with anyio.move_on_after(min(PROGRESS_INTERVAL_SECONDS, timeout - elapsed)):
                await pending.done.wait()
        if pending.error is not None:
            raise pending.error

    async def status(self) -> AuthStatus:
        """Who is signed in and where the tokens live; makes no network call and returns no token."""
        problem = None
        try:
            await self._ensure_cache()
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

    # ----- building MSAL lazily --------------------------------------------------------------------

    async def _ensure_cache(self) -> None:
        if self._token_cache is not None:
            return
        async with self._setup_lock:
            if self._token_cache is None:
                token_cache, info = await self._in_thread(self._open_cache_blocking)
                self._token_cache, self._cache_info = token_cache, info

    def _open_cache_blocking(self) -> tuple[Any, CacheInfo]:
        with quiet_gc():  # imports msal-extensions (and MSAL): long-lived objects, see _gc.py
            return self._cache_opener(self.settings)

    async def _ensure_app(self) -> None:
        if self._app is not None:
            return
        await self._ensure_cache()
        async with self._setup_lock:
            if self._app is None:
                self._app = await self._in_thread(self._build_app_blocking)

    def _build_app_blocking(self) -> Any:
        with quiet_gc():  # imports MSAL: long-lived objects, see _gc.py
            return self._build_app_inner()

    def _build_app_inner(self) -> Any:
        directory = self.settings.resolved_cache_dir()
        self._http_cache = PersistentHttpCache(directory / HTTP_CACHE_FILE_NAME)
        use_broker = effective_mode(self.settings) == "broker" if self.settings.auth_mode in ("auto", "broker") else False
        factory = self._app_factory or functools.partial(build_public_client, use_broker=use_broker)
        app = factory(self.settings, self._token_cache, self._http_cache)
        self._http_cache.save_if_changed()
        return app

    # ----- silent ----------------------------------------------------------------------------------

    def _silent_blocking(
        self, request: TokenRequest, claims: str | None, home_id: str | None = None
    ) -> dict[str, Any] | None:
        # One refresh per account+resource+scopes across processes: whoever finds another process
        # refreshing the same token waits for its lock, then MSAL re-reads the cache and finds the
        # new token there, instead of redeeming the refresh token again (cache_lock.py). A lock
        # that stays busy is an error, never a second refresh.
        account = self._find_account_blocking(home_id)
        if account is None:
            return None
        kwargs: dict[str, Any] = {"claims_challenge": claims}
        if request.extra_body_params:
            kwargs["data"] = dict(request.extra_body_params)
        app = self._refresh_app_blocking(account.get("home_account_id"))
        cache_path = self.settings.resolved_cache_dir() / CACHE_FILE_NAME
        with FileLock(refresh_lock_path(cache_path, account.get("home_account_id"), request.resource, *request.msal_scopes)):
            result = app.acquire_token_silent_with_error(request.msal_scopes, account, **kwargs)
        if self._http_cache is not None:
            self._http_cache.save_if_changed()
        return result

    def _find_account_blocking(self, home_id: str | None = None) -> dict[str, Any] | None:
        accounts = self._app.get_accounts()
        if home_id is not None:
            return next((a for a in accounts if a.get("home_account_id") == home_id), None)
        record = self._load_record()
        if record is not None:
            for account in accounts:
                if account.get("home_account_id") == record.home_account_id:
                    return account
            return None
        if len(accounts) == 1:  # a cache without our record (e.g. written by `local-mcp login` of an older version)
            return accounts[0]
        return None

    # ----- interactive -----------------------------------------------------------------------------

    async def _interact(
        self, request: TokenRequest, claims: str | None, *, try_silent_first: bool = True, home_id: str | None = None
    ) -> AccessToken:
        async with self._interaction_lock:
            if try_silent_first and claims is None:
                # Whoever held the lock before us may have just signed in with these scopes.
                result = await self._in_thread(self._silent_blocking, request, None, home_id)
                if result is not None and "access_token" in result:
                    return await self._accept(result, request, interactive=False, home_id=home_id)
            mode = effective_mode(self.settings)
            if mode == "device_code":
                return await self._device_code(request, claims)
            # The account this call works with is hinted; adding an account (home_id None) hints nobody.
            book = await self._in_thread(self._load_book)
            record = book.get(home_id) if home_id is not None else None
            blocking = functools.partial(
                sign_in_interactively,
                self._app,
                request,
                mode=mode,
                timeout=self.settings.sign_in_timeout,
                login_hint=record.username if record else None,
                claims=claims,
            )
            what = "the sign-in window" if mode == "broker" else "your browser"
            result = await self._run_with_progress(
                blocking, f"Waiting for you to sign in to Microsoft in {what}", float(self.settings.sign_in_timeout)
            )
            if "access_token" in result:
                return await self._accept(result, request, interactive=True)
            raise sign_in_failure(result, action=f"The {mode.replace('_', ' ')} sign-in", consent_url=self._consent_url(request))

    async def _device_code(self, request: TokenRequest, claims: str | None) -> AccessToken:
        pending = self._pending
        if pending is not None and not pending.done.is_set() and pending.covers(request):
            raise DeviceCodePendingError(pending.prompt, scopes=list(request.scopes))
        if pending is not None and pending.done.is_set():
            self._pending = None
            if pending.error is not None and pending.covers(request):
                raise pending.error  # say once why the last attempt failed; the next call starts afresh
        elif pending is not None:
            self._abort_pending()  # it was for other scopes: replace it
        flow = await self._in_thread(start_device_flow, self._app, request, claims)
        if "user_code" not in flow:
            raise sign_in_failure(flow, action="Starting the device-code sign-in", consent_url=self._consent_url(request))
        pending = PendingDeviceFlow(prompt=device_prompt(flow), request=request, flow=flow)
        self._pending = pending
        if self._task_group is None:
            raise RuntimeError("TokenProvider must be entered (async with) before a device-code sign-in")
        self._task_group.start_soon(self._poll_device_flow, pending, claims)
        logger.info("Device-code sign-in started; waiting for the user at %s", pending.prompt.verification_uri)
        raise DeviceCodePendingError(pending.prompt, scopes=list(request.scopes))

    async def _poll_device_flow(self, pending: PendingDeviceFlow, claims: str | None) -> None:
        try:
            result = await in_daemon_thread(
                functools.partial(self._app.acquire_token_by_device_flow, pending.flow, claims_challenge=claims)
            )
            if "access_token" in result:
                await self._accept(result, pending.request, interactive=True)
            else:
                pending.error = sign_in_failure(result, action="The device-code sign-in", consent_url=self._consent_url(pending.request))
        except AuthError as exc:
            pending.error = exc
        except Exception as exc:
            logger.warning("Device-code sign-in failed: %s", type(exc).__name__)
            pending.error = SignInFailedError(f"The device-code sign-in failed ({type(exc).__name__}). Try again.")
        finally:
            pending.done.set()

    def _abort_pending(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None and not pending.done.is_set():
            pending.flow["expires_at"] = 0  # MSAL's documented way to stop its polling loop

    async def _run_with_progress(self, blocking: Callable[[], T], message: str, total: float) -> T:
        """Run a blocking sign-in in a thread, sending progress every few seconds until it ends."""
        outcome: dict[str, Any] = {}
        finished = anyio.Event()

        async def run() -> None:
            try:
                outcome["value"] = await in_daemon_thread(blocking)
            except Exception as exc:
                outcome["error"] = exc
            finally:
                finished.set()

        start = time.monotonic()
        async with anyio.create_task_group() as group:
            group.start_soon(run)
            while not finished.is_set():
                await progress.report(message, time.monotonic() - start, total)
                with anyio.move_on_after(PROGRESS_INTERVAL_SECONDS):
                    await finished.wait()
        if "error" in outcome:
            raise self._translate(outcome["error"])
        return outcome["value"]

    # ----- after success -------------------------------------------------------------------------

    async def _accept(
        self, result: dict[str, Any], request: TokenRequest, *, interactive: bool, home_id: str | None = None
    ) -> AccessToken:
        token = AccessToken(
            token=result["access_token"],
            expires_on=time.time() + int(result.get("expires_in") or 0),
            resource=request.resource,
            scopes=request.scopes,
        )
        granted = short_names(str(result.get("scope") or " ".join(request.msal_scopes)).split())
        home_id = await self._in_thread(self._remember_blocking, result, request.resource, granted, interactive, home_id)
        self._memory[(home_id, request.key)] = token
        if interactive and home_id is not None:  # the account just signed in is the active one now
            self._active, self._active_known = home_id, True
            pinned_account.set(home_id)
        return token

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
        record = self.resolve_account(book, key) if key is not None else book.active_record()
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

    # ----- threads and error translation -----------------------------------------------------------

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await anyio.to_thread.run_sync(functools.partial(fn, *args))
        except AuthError:
            raise
        except Exception as exc:
            raise self._translate(exc) from exc

    def _translate(self, exc: Exception) -> Exception:
        """MSAL and msal-extensions exceptions become ours, with what to do next."""
        if isinstance(exc, (AuthError,)):
            return exc
        name = type(exc).__name__
        if _is_lock_error(exc):
            return CacheUnavailableError(describe_stuck_lock(getattr(exc, "path", None) or self.settings.resolved_cache_dir() / CACHE_FILE_NAME))
        if name == "KeyringError":  # its message already says what failed in the keyring
            return CacheUnavailableError(str(exc))
        if name in ("PersistenceDecryptionError", "PersistenceError", "PersistenceEncryptionError"):
            return CacheUnavailableError(
                f"The token cache could not be read or written ({name}). Run `local-mcp logout` to reset it."
            )
        if name == "MsalServiceError":  # MSAL raises on a 429/5xx from the authority (and replays it a while)
            return SignInFailedError(
                f"The identity provider at {self.settings.authority_host} is not answering normally ({first_line(str(exc))}). "
                "This is usually temporary: try again in a minute.",
                error="temporarily_unavailable",
            )
        if "ConnectionError" in name or name in ("Timeout", "ReadTimeout", "SSLError"):
            return SignInFailedError(
                f"Could not reach the identity provider at {self.settings.authority_host} ({name}). "
                "Check the network (and LOCAL_MCP_AUTHORITY), then try again.",
                error=name,
            )
        if isinstance(exc, ValueError) and "authority configuration" in str(exc):
            return SignInFailedError(
                f"Could not read the OpenID configuration of {self.settings.authority}. "
                "Check LOCAL_MCP_AUTHORITY / LOCAL_MCP_TENANT_ID and the network, then try again.",
                error="authority_unreachable",
            )
        if isinstance(exc, ValueError) and "invalid_instance" in str(exc):
            return SignInFailedError(
                f"The authority {self.settings.authority} is not known to Microsoft. Check LOCAL_MCP_AUTHORITY.",
                error="invalid_instance",
            )
        return exc
