"""The `Emulator`: one HTTPS server on 127.0.0.1 serving Entra ID and Graph.

Identity endpoints live under /<tenant>/..., Graph under /v1.0/..., and a
small control API under /_emulator/... lets a separate process (the
benchmark) read counts and inject faults.
"""

from __future__ import annotations

import shlex
import shutil
import ssl
import sys
import tempfile
import threading
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import trustme

from .graph import GraphApi
from .identity import IdentityProvider, OAuthError
from .model import DEFAULT_CLIENT_ID, GRAPH_APP_ID, MSA_TENANT_ID, EmulatorUser, Fault
from .tokens import SigningKey
from .web import HTTPSServer, Request, Response

BROWSER_SCRIPT = Path(__file__).with_name("browser.py").resolve()


class Emulator:
    """Offline Microsoft Entra ID (v2.0) + Microsoft Graph v1.0 for tests.

    Construct, then `start()` (or use as a context manager). URLs are only
    known after start, because the port is picked by the OS.
    """

    def __init__(
        self,
        user: EmulatorUser | None = None,
        *,
        token_lifetime: int = 3600,
        device_code_interval: int = 1,
        device_code_lifetime: int = 900,
        client_id: str = DEFAULT_CLIENT_ID,
        strict_client_id: bool = False,
        port: int = 0,
        users: Sequence[EmulatorUser] = (),
    ) -> None:
        self.user = user or EmulatorUser()
        # Everyone who can sign in: `user` first (the browser's signed-in session), then `users`.
        self.users: list[EmulatorUser] = [self.user, *(u for u in users if u.oid != self.user.oid)]
        self.token_lifetime = token_lifetime  # expires_in of access tokens issued from now on
        self.device_code_interval = device_code_interval
        self.device_code_lifetime = device_code_lifetime
        # The suggested client id. Any id is accepted unless strict_client_id;
        # ids actually used are recorded in `client_ids_seen`.
        self.client_id = client_id
        self.strict_client_id = strict_client_id
        self.client_ids_seen: set[str] = set()
        self.counts: Counter[str] = Counter()
        self.sent_mail: list[Any] = []  # JSON bodies POSTed to /me/sendMail
        self.claims_seen: list[str | None] = []  # the `claims` parameter of each token issued
        self.withheld_scopes: set[str] = set()  # lower-cased; see withhold_scopes
        self.check_contract = True  # on leaving `with`, parse every answer with msgraph-sdk's models
        self.key = SigningKey()
        self._port = port
        self._lock = threading.Lock()
        self._faults: defaultdict[str, deque[Fault]] = defaultdict(deque)
        self._hold_changed = threading.Condition()
        self._holds: Counter[str] = Counter()  # endpoint -> requests still to hold
        self._held: Counter[str] = Counter()  # endpoint -> requests held now
        self._release_round = 0
        self._server: HTTPSServer | None = None
        self._tempdir: str | None = None
        self._ca_bundle: str | None = None
        self.identity = IdentityProvider(self)
        self.graph = GraphApi(self)
        self._graphs: dict[str, GraphApi] = {self.user.oid: self.graph}  # oid -> that user's mailbox etc.

    # ---- lifecycle ---------------------------------------------------------

    def start(self) -> Emulator:
        if self._server is not None:
            return self
        from .contract import warm_up

        warm_up()
        # A throw-away CA per emulator; clients trust it via ca_bundle only.
        ca = trustme.CA(organization_name="local-mcp emulator test CA")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self._tempdir = tempfile.mkdtemp(prefix="local-mcp-emulator-")
        self._ca_bundle = str(Path(self._tempdir, "ca.pem"))
        ca.cert_pem.write_to_path(self._ca_bundle)
        self._server = HTTPSServer(self.handle, context, self._port)
        self._server.start()
        return self

    def stop(self) -> None:
        self.release()
        server, self._server = self._server, None
        if server is not None:
            server.stop()
        if self._tempdir:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
        if exc is None and self.check_contract:
            self.verify_contract()

    def contract_violations(self) -> list[str]:
        """Properties in the emulator's answers so far that msgraph-sdk's models do not know."""
        from .contract import violations

        return [v for type_name, body in self.graph.sent for v in violations(type_name, body)]

    def verify_contract(self) -> None:
        """Raise if any answer carried a property Graph's schema lacks (run on leaving `with Emulator()`)."""
        if found := self.contract_violations():
            raise AssertionError("the emulator sent properties that Graph's schema (msgraph-sdk models) "
                                 f"does not have: {sorted(set(found))}")

    # ---- addresses ------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("Emulator is not started; call start() first")
        return self._server.port

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def authority(self) -> str:
        return f"{self.base_url}/{self.user.tid}"

    @property
    def issuer(self) -> str:
        return f"{self.authority}/v2.0"

    @property
    def graph_url(self) -> str:
        return f"{self.base_url}/v1.0"

    @property
    def graph_resource(self) -> str:
        """The audience of Graph tokens; scopes look like f"{graph_resource}/User.Read"."""
        return self.base_url

    @property
    def ca_bundle(self) -> str:
        if self._ca_bundle is None:
            raise RuntimeError("Emulator is not started; call start() first")
        return self._ca_bundle

    @property
    def browser_command(self) -> str:
        """Value for $BROWSER. `webbrowser` splits it with shlex when it contains %s."""
        return f"{shlex.quote(sys.executable)} {shlex.quote(str(BROWSER_SCRIPT))} %s"

    def env(self) -> dict[str, str]:
        """Environment for a process that should talk to this emulator."""
        return {
            "REQUESTS_CA_BUNDLE": self.ca_bundle,  # msal / azure-identity use requests
            "SSL_CERT_FILE": self.ca_bundle,  # httpx (msgraph-sdk) and browser.py
            "BROWSER": self.browser_command,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }

    # ---- test controls ------------------------------------------------------------

    def count(self, name: str) -> None:
        with self._lock:
            self.counts[name] += 1

    def reset_counts(self) -> None:
        with self._lock:
            self.counts.clear()

    def note_client(self, client_id: str) -> None:
        with self._lock:
            self.client_ids_seen.add(client_id)

    def inject(self, endpoint: str, *, status: int | None = None, error: str | None = None,
               retry_after: int | None = None, claims_challenge: bool = False, times: int = 1) -> None:
        """Queue a failure for the next `times` requests to `endpoint`.

        `endpoint` is a counts name: "token", "token.refresh_token", "graph",
        "graph GET /me", "authorize", "devicecode", ... A specific name is
        served before the general one ("token.refresh_token" before "token").
        Faults for one endpoint are consumed first-in, first-out.

        identity endpoints: `error` -> 400 OAuth error (AADSTS text); `status`
        alone -> that status with a server_error/temporarily_unavailable body.
        "authorize" with `error` sends the error to the redirect URI instead.
        graph: `status` -> Graph error (429 TooManyRequests, 503
        serviceNotAvailable, ...); `error` sets the Graph error code;
        `claims_challenge` -> 401 with a CAE insufficient_claims challenge.
        `retry_after` adds a Retry-After header.
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._faults[endpoint].append(Fault(status, error, retry_after, claims_challenge, times))

    def take_fault(self, *endpoints: str) -> Fault | None:
        """Consume one use of the first queued fault among `endpoints` (most specific first)."""
        with self._lock:
            for endpoint in endpoints:
                queue = self._faults.get(endpoint)
                if queue:
                    fault = queue[0]
                    fault.times -= 1
                    if fault.times <= 0:
                        queue.popleft()
                    return fault
        return None

    @property
    def refresh_tokens(self) -> list[str]:
        """Every refresh token issued so far, oldest first (revoked ones included)."""
        return self.identity.issued_refresh_tokens()

    def revoke_refresh_tokens(self) -> None:
        """Every refresh token issued so far now fails with invalid_grant (AADSTS50173)."""
        self.identity.revoke_refresh_tokens()

    def approve_device_code(self, user_code: str, account: str | None = None) -> None:
        """What the user does by entering `user_code` at the verification page (as `account`, an email)."""
        if account is not None:
            self.choose_account(account)
        self.identity.set_device_code_status(user_code, "approved")

    def user_by_email(self, email: str) -> EmulatorUser | None:
        wanted = email.strip().lower()
        return next((u for u in self.users if u.email.lower() == wanted), None)

    def choose_account(self, email: str) -> None:
        """The account the user picks at the next account picker (prompt=select_account) or device code."""
        if self.user_by_email(email) is None:
            raise ValueError(f"no emulator user {email!r}")
        self.identity.choose_next_account(email)

    def graph_of(self, user: EmulatorUser) -> GraphApi:
        """The Graph data (mail, calendar, files) of `user`; built on first use."""
        with self._lock:
            api = self._graphs.get(user.oid)
            if api is None:
                api = self._graphs[user.oid] = GraphApi(_UserView(self, user))  # type: ignore[arg-type]
            return api

    def deny_device_code(self, user_code: str) -> None:
        """The user declines: polling then gets authorization_declined."""
        self.identity.set_device_code_status(user_code, "denied")

    def deny_next_authorize(self) -> None:
        """The next authorize request redirects back with error=access_denied."""
        self.identity.deny_next_authorize()

    def withhold_scopes(self, scopes: Iterable[str]) -> None:
        """Until the next interactive sign-in, tokens from the token endpoint lack `scopes` in `scp`.

        The token response's `scope` still echoes the request (so MSAL caches the
        token as if granted), and Graph answers 403: consent that was revoked, or
        never really given, until the user signs in and consents again.
        """
        with self._lock:
            self.withheld_scopes = {s.rpartition("/")[2].lower() for s in scopes}

    def withheld(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self.withheld_scopes)

    def stop_withholding(self) -> None:
        with self._lock:
            self.withheld_scopes = set()

    # ---- holding requests in flight (to kill a client in the middle of one) --------------

    def hold(self, endpoint: str, times: int = 1) -> None:
        """Make the next `times` requests to `endpoint` (a counts name, e.g. "token.refresh_token")
        wait, unanswered, until `release()`: a client can then be killed while it waits for them."""
        with self._hold_changed:
            self._holds[endpoint] += times

    def wait_held(self, endpoint: str, n: int, timeout: float = 120) -> None:
        """Return once `n` requests to `endpoint` are being held; raise if that never happens."""
        with self._hold_changed:
            if not self._hold_changed.wait_for(lambda: self._held[endpoint] >= n, timeout):
                raise AssertionError(f"only {self._held[endpoint]} of {n} requests to {endpoint} arrived")

    def release(self) -> None:
        """Answer every held request (as if nothing had happened) and hold no more."""
        with self._hold_changed:
            self._holds.clear()
            self._release_round += 1
            self._hold_changed.notify_all()

    def pause_if_held(self, endpoint: str) -> None:
        """Called by the handlers: wait here if a hold is set for `endpoint`."""
        with self._hold_changed:
            if self._holds[endpoint] <= 0:
                return
            self._holds[endpoint] -= 1
            self._held[endpoint] += 1
            round_ = self._release_round
            self._hold_changed.notify_all()
            self._hold_changed.wait_for(lambda: self._release_round != round_)
            self._held[endpoint] -= 1

    def issue_access_token(self, scopes: Sequence[str] = ("User.Read",), *, lifetime: int | None = None,
                           client_id: str | None = None) -> str:
        """Mint an access token directly, for Graph tests that do not need MSAL.

        Short names ("Mail.Read") are qualified with graph_resource.
        """
        qualified = [s if "://" in s else f"{self.graph_resource}/{s}" for s in scopes]
        token, _ = self.identity.mint_access_token(
            client_id or self.client_id, qualified, self.token_lifetime if lifetime is None else lifetime)
        return token

    # ---- request dispatch ----------------------------------------------------------

    def handle(self, req: Request) -> Response:
        if req.path == GraphApi.PREFIX or req.path.startswith(GraphApi.PREFIX + "/"):
            return self._graph_for(req).handle(req)
        if req.path.startswith("/_emulator/"):
            return self._control(req)
        if req.path.startswith("/_files/"):  # pre-authenticated download and upload-session URLs
            return self.graph.files.handle_pre_authenticated(req)
        if req.path.startswith("/_outlook/attachmentSessions/"):  # attachment upload-session URLs
            return self.graph.mail_organise.handle_pre_authenticated(req)
        response = self.identity.handle(req)
        if response is None:
            self.count("not_found")
            response = Response.of_json({"error": "not_found", "error_description": f"No route for {req.path}"},
                                        404)
        return response

    def _control(self, req: Request) -> Response:
        """Out-of-process control for `python -m tests.emulator` users. Not counted."""
        action = req.path.removeprefix("/_emulator/")
        try:
            body = req.json() if req.body else {}
        except ValueError:
            return Response.of_json({"error": "invalid JSON body"}, 400)
        if req.method == "GET" and action == "counts":
            with self._lock:
                return Response.of_json(dict(self.counts))
        if req.method == "GET" and action == "sent-mail":
            return Response.of_json(self.sent_mail)
        if req.method == "POST" and action == "reset-counts":
            self.reset_counts()
        elif req.method == "POST" and action == "inject":
            try:
                self.inject(body.pop("endpoint"), **body)
            except (KeyError, TypeError, ValueError) as exc:
                return Response.of_json({"error": f"bad inject request: {exc}"}, 400)
        elif req.method == "POST" and action == "revoke-refresh-tokens":
            self.revoke_refresh_tokens()
        elif req.method == "POST" and action == "withhold-scopes":
            self.withhold_scopes(body.get("scopes") or [])
        elif req.method == "POST" and action == "approve-device-code":
            try:
                self.approve_device_code(body["user_code"])
            except (KeyError, ValueError) as exc:
                return Response.of_json({"error": str(exc)}, 400)
        elif req.method == "POST" and action == "choose-account":
            try:
                self.choose_account(body["email"])
            except (KeyError, ValueError) as exc:
                return Response.of_json({"error": str(exc)}, 400)
        elif req.method == "POST" and action == "add-file":  # a big generated file, for benchmarks
            try:
                item = self.graph.files.add_generated_file(str(body["path"]), int(body["size"]))
            except (KeyError, TypeError, ValueError) as exc:
                return Response.of_json({"error": f"bad add-file request: {exc}"}, 400)
            return Response.of_json({"id": item["id"]})
        elif req.method == "POST" and action == "config":
            for name in ("token_lifetime", "device_code_interval"):
                if name in body:
                    setattr(self, name, int(body[name]))
        else:
            return Response.of_json({"error": f"unknown control {req.method} {action}"}, 404)
        return Response(204, b"", None)


    def _graph_for(self, req: Request) -> GraphApi:
        """Whose Graph: the `oid` of the bearer token (validated by that GraphApi), else the first user."""
        oid = _unverified_oid(req.headers.get("authorization", ""))
        user = next((u for u in self.users if u.oid == oid), None)
        return self.graph if user is None else self.graph_of(user)


class _UserView:
    """The emulator as seen by one user's GraphApi: everything shared except `user` and its issuer."""

    def __init__(self, emu: Emulator, user: EmulatorUser) -> None:
        self._emu, self.user = emu, user

    def __getattr__(self, name: str) -> Any:
        return getattr(self._emu, name)

    @property
    def authority(self) -> str:
        return f"{self._emu.base_url}/{self.user.tid}"

    @property
    def issuer(self) -> str:
        return f"{self.authority}/v2.0"


def _unverified_oid(authorization: str) -> str | None:
    """Only to route the request; the chosen GraphApi verifies the token's signature and issuer."""
    import base64
    import json

    token = authorization.partition(" ")[2].strip()
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    oid = payload.get("oid") if isinstance(payload, dict) else None
    return str(oid) if oid else None


__all__ = ["Emulator", "EmulatorUser", "GRAPH_APP_ID", "MSA_TENANT_ID", "OAuthError"]
