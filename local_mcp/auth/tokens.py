"""TokenProvider: where every access token is acquired.

    get_token(resource, scopes)
      1. memory        a token this process already holds, valid for 5+ minutes: no I/O at all
      2. silent        MSAL: the persistent cache, then the refresh token (one refresh per
                       resource+scopes, however many callers wait for it)
      3. interactive   only when MSAL says interaction is required, one at a time:
                       broker -> system browser -> device code (see sign_in.py)

Around it, each in its own module: device_sign_in.py and device_flow.py (the device-code sign-in),
browser_flow.py (a browser sign-in that outlives its call),
waiting.py (daemon threads and progress while a person signs in), device_handoff.py (a
device-code sign-in that outlives this process), records.py (the account record a sign-in
leaves), switching.py (several accounts), status.py (auth_status), msal_errors.py (MSAL's
errors and exceptions as ours).

MSAL itself is imported and built on the first token request, never at start-up.
Blocking MSAL calls run in worker threads; the event loop keeps serving.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from .._gc import quiet_gc
from ..errors import AuthError, BrowserSignInPendingError
from . import device_handoff, progress
from .account import AccountStore
from .accounts import pinned_account
from .cache import CACHE_FILE_NAME, CacheInfo, open_token_cache
from .cache_lock import FileLock, refresh_lock_path
from .cache_space import check_writable
from .browser_flow import BrowserSignIns, PendingBrowserSignIn, finish_quickly_or_hand_over
from .browser_flow import wait_for as wait_for_browser
from .device_flow import DeviceFlows, PendingDeviceFlow, wait_for
from .device_sign_in import DeviceCodeSignIn
from .msal_app import HTTP_CACHE_FILE_NAME, PersistentHttpCache, build_public_client
from .msal_errors import admin_consent_url, interaction_required, needs_interaction, sign_in_failure, translate_exception
from .records import AccountRecords
from .status import AuthStatus, StatusReport  # noqa: F401 (AuthStatus: re-exported)
from .resource import TokenRequest, build_token_request, short_names
from .sign_in import browser_sign_in_url, effective_mode, free_loopback_port, sign_in_interactively
from .switching import AccountSwitching
from .waiting import run_with_progress

logger = logging.getLogger(__name__)

# MSAL refreshes a token with under five minutes left; so do we.
EXPIRY_MARGIN_SECONDS = 300

T = TypeVar("T")


@dataclass(frozen=True)
class AccessToken:
    token: str = field(repr=False)  # never in a repr, a log line or a tool result
    expires_on: float
    resource: str
    scopes: tuple[str, ...]

    def valid_for(self, seconds: float) -> bool:
        return self.expires_on - time.time() > seconds


class TokenProvider(DeviceCodeSignIn, AccountRecords, AccountSwitching, StatusReport):
    """Resource-scoped access tokens for the signed-in user. Use as `async with TokenProvider(settings)`."""

    def __init__(
        self,
        settings: Any,
        *,
        app_factory: Callable[[Any, Any, Any], Any] | None = None,
        cache_opener: Callable[[Any], tuple[Any, CacheInfo]] | None = None,
        hand_off_device_flows: bool = False,
    ) -> None:
        self.settings = settings
        self._hand_off = hand_off_device_flows  # the MCP server: yes; `local-mcp login` (Ctrl-C means stop): no
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
        self._device = DeviceFlows()  # the device-code sign-in in progress, polled in the background
        self._browser = BrowserSignIns()  # a browser sign-in outliving its call (2026-07-28 clients)
        self._pending_claims: str | None = None

    def _consent_url(self, request: TokenRequest) -> str:
        """The v2 admin-consent link for the scopes of `request` (the ones that failed)."""
        return admin_consent_url(self.settings.authority, self.settings.client_id, scopes=request.msal_scopes)

    # ----- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> TokenProvider:
        await self._device.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        pending = self._device.current()
        if pending is not None and pending.flow.get("device_code") and self._hand_off:
            # Stopping while the person may still be entering the code (a client that runs one
            # call per process): a detached child finishes the sign-in (device_handoff.py).
            device_handoff.hand_off(self.settings, dict(pending.flow), pending.request, pending.prompt, self._pending_claims)
        await self._device.__aexit__(*exc_info)

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
        self._device.abort()
        # A device-code sign-in a server process handed on (device_handoff.py) must not sign in after this.
        await self._in_thread(device_handoff.cancel, self.settings)
        return [username for _, username in removed]

    async def home_tenant(self) -> str | None:
        """The signed-in account's home tenant id (from MSAL's home_account_id "<oid>.<tid>"), or None."""
        await self._ensure_cache()
        record = await self._in_thread(self._load_record)
        if record is None or "." not in record.home_account_id:
            return None
        return record.home_account_id.rsplit(".", 1)[1] or None

    def pending_device_flow(self) -> PendingDeviceFlow | None:
        return self._device.current()

    def last_browser_sign_in(self) -> PendingBrowserSignIn | None:
        """The background browser sign-in started last (browser_flow.py), finished or not."""
        return self._browser.last

    async def wait_for_browser_sign_in(self, pending: PendingBrowserSignIn, timeout: float) -> None:
        """Wait (with progress) until the person finished the background browser sign-in; raise if it failed."""
        await wait_for_browser(pending, timeout)

    async def wait_for_device_flow(self, pending: PendingDeviceFlow, timeout: float, *, label: str = "") -> None:
        """Wait (with progress) until the user finished the device-code sign-in; raise if it failed."""
        await wait_for(pending, timeout, label=label)

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
            completed = progress.completed_sign_in.get()
            if isinstance(completed, PendingBrowserSignIn) and completed.covers(request):
                return completed.token  # the sign-in this call started: finished while the client asked the person
            browser = self._browser.current()
            if browser is not None:  # one browser sign-in at a time: the same address, or wait for it
                if progress.sign_in_may_end_call.get():
                    raise BrowserSignInPendingError(browser.url, scopes=list(request.scopes))
                await wait_for_browser(browser, float(self.settings.sign_in_timeout))
            if try_silent_first and claims is None:
                # Whoever held the lock before us may have just signed in with these scopes.
                result = await self._in_thread(self._silent_blocking, request, None, home_id)
                if result is not None and "access_token" in result:
                    return await self._accept(result, request, interactive=False, home_id=home_id)
            # Before the browser opens: a sign-in whose tokens cannot be saved would be lost.
            directory = self.settings.resolved_cache_dir()
            await self._in_thread(functools.partial(check_writable, directory, cache_file=directory / CACHE_FILE_NAME))
            mode = effective_mode(self.settings)
            if mode == "device_code":
                return await self._device_code(request, claims)
            # The account this call works with is hinted; adding an account (home_id None) hints nobody.
            book = await self._in_thread(self._load_book)
            record = book.get(home_id) if home_id is not None else None
            port = free_loopback_port() if mode == "browser" else None
            blocking = functools.partial(
                sign_in_interactively,
                self._app,
                request,
                mode=mode,
                timeout=self.settings.sign_in_timeout,
                login_hint=record.username if record else None,
                claims=claims,
                port=port,
            )
            message, offer = "Waiting for you to sign in to Microsoft in the sign-in window", None
            if port is not None:  # the address goes to the client too: no window may have appeared
                url = browser_sign_in_url(port)
                message = f"Waiting for you to sign in to Microsoft in your browser (no window? open {url})"
                offer = functools.partial(progress.offer_url, f"Sign in to Microsoft to continue: open {url}", url)
                if progress.sign_in_may_end_call.get():  # the address as input_required; the retry waits
                    # In the background, not under the interaction lock (a call waiting for this sign-in
                    # holds it): meanwhile `_interact` finds it as `_browser.current()` and starts no other.
                    run = functools.partial(self._wait_for_person, blocking, message, request, mode)
                    pending = self._browser.start(PendingBrowserSignIn(url=url, request=request), run, self._device.spawn)
                    return await finish_quickly_or_hand_over(pending, message, float(self.settings.sign_in_timeout))
            return await self._wait_for_person(blocking, message, request, mode, offer=offer)

    async def _wait_for_person(
        self, blocking: Callable[[], dict[str, Any]], message: str, request: TokenRequest, mode: str,
        *, offer: Callable[[], Any] | None = None,
    ) -> AccessToken:
        """Run a broker/browser sign-in (in this call, or in the background) until the person is done or gives up."""
        result = await run_with_progress(
            blocking, message, float(self.settings.sign_in_timeout), translate=self._translate, offer=offer
        )
        if "access_token" in result:
            return await self._accept(result, request, interactive=True)
        raise sign_in_failure(result, action=f"The {mode.replace('_', ' ')} sign-in", consent_url=self._consent_url(request))

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
        return translate_exception(exc, self.settings)
