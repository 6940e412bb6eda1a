"""The device-code sign-in, as a part of TokenProvider (tokens.py): start one flow, share it, poll it.

One flow at a time, whatever scopes a call needs (device_flow.py keeps it and its background
task); a flow an earlier server process handed to a child is adopted with its code
(device_handoff.py); polling MSAL runs in a daemon thread and accepts the token at the end.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from ..errors import AuthError, DeviceCodePendingError, SignInFailedError
from . import device_handoff
from .device_flow import PendingDeviceFlow
from .msal_errors import sign_in_failure
from .resource import TokenRequest, build_token_request
from .sign_in import device_prompt, start_device_flow
from .waiting import in_daemon_thread

if TYPE_CHECKING:
    from .tokens import AccessToken

logger = logging.getLogger(__name__)


class DeviceCodeSignIn:
    """TokenProvider's device-code methods (a mixin: the attributes are the provider's)."""

    settings: Any
    _app: Any
    _device: Any
    _pending_claims: str | None

    if TYPE_CHECKING:
        async def _in_thread(self, fn: Any, *args: Any) -> Any: ...
        async def _ensure_app(self) -> None: ...
        async def _accept(self, result: dict[str, Any], request: TokenRequest, *, interactive: bool) -> AccessToken: ...
        def _consent_url(self, request: TokenRequest) -> str: ...

    async def _device_code(self, request: TokenRequest, claims: str | None) -> AccessToken:
        pending = self._device.last
        if pending is not None and not pending.done.is_set():
            # One sign-in at a time, whatever scopes this call needs: it gets the same code, and
            # once that sign-in is done its retry tries silently before any new flow (device_flow.py).
            self._device.share(pending, request)
            raise DeviceCodePendingError(pending.prompt, scopes=list(request.scopes))
        if pending is not None:
            self._device.forget()
            if pending.error is not None and pending.covers(request):
                raise pending.error  # say once why the last attempt failed; the next call starts afresh
        elif (adopted := await self._in_thread(device_handoff.adopt, self.settings)) is not None:
            # An earlier server process showed this code and handed its sign-in to a child: the same code.
            self._device.start(adopted, functools.partial(device_handoff.watch, self.settings))
            self._device.share(adopted, request)
            raise DeviceCodePendingError(adopted.prompt, scopes=list(request.scopes))
        flow_request = request
        if claims is None and not request.extra_body_params and not request.extra_query_params:
            scopes = self._device.scopes_for_next(request)
            if scopes != request.scopes:
                flow_request = build_token_request(request.resource, scopes)
                logger.info("Device-code sign-in asks also for the scopes other calls waited for: %s", " ".join(scopes))
        flow = await self._in_thread(start_device_flow, self._app, flow_request, claims)
        if "user_code" not in flow:
            raise sign_in_failure(flow, action="Starting the device-code sign-in", consent_url=self._consent_url(flow_request))
        pending = PendingDeviceFlow(prompt=device_prompt(flow), request=flow_request, flow=flow)
        self._pending_claims = claims
        self._device.start(pending, functools.partial(self._poll_device_flow, claims=claims))
        logger.info("Device-code sign-in started; waiting for the user at %s", pending.prompt.verification_uri)
        raise DeviceCodePendingError(pending.prompt, scopes=list(request.scopes))

    async def finish_device_flow(self, flow: dict[str, Any], request: TokenRequest, claims: str | None) -> AuthError | None:
        """Poll a flow another process started until it ends (device_handoff.py's child); its error or None."""
        await self._ensure_app()
        pending = PendingDeviceFlow(prompt=device_prompt(flow), request=request, flow=flow)
        await self._poll_device_flow(pending, claims=claims)
        return pending.error

    async def _poll_device_flow(self, pending: PendingDeviceFlow, *, claims: str | None) -> None:
        """Poll MSAL until the user signed in (or the code expired); accept the token; set `done`."""
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
