"""Microsoft Graph calls through msgraph-sdk's request adapter, with errors a model can act on.

The adapter (msgraph's GraphRequestAdapter) keeps the SDK's middleware: retry on
429/503/504 honouring Retry-After, redirects, and the CAE claims-challenge retry.
Responses are read with kiota's native response handler and parsed as JSON, so a
tool that needs three fields does not pay for deserialising Graph's full model.
The adapter is built on the first call; importing this module costs nothing.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import anyio

from .._gc import quiet_gc
from ..auth.tokens import TokenProvider
from ..errors import GraphError
from .credential import ProviderCredential, call_scopes, call_token

logger = logging.getLogger(__name__)

_REDIRECTS = frozenset({301, 302, 303, 307, 308})

_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True)
class GraphResponse:
    status: int
    headers: Mapping[str, str]
    body: Any  # parsed JSON (None for an empty body), or bytes when asked for raw content


class StreamedResponse:
    """A response whose body is still on the wire: read it with `chunks()`, only as far as needed."""

    def __init__(self, response: Any) -> None:
        self._response = response
        self.status: int = response.status_code
        self.headers: Mapping[str, str] = response.headers

    def chunks(self, size: int = 256 * 1024) -> Any:
        """An async iterator over the body in pieces of about `size` bytes; stop to stop reading."""
        return self._response.aiter_bytes(size)


class GraphClient:
    """Calls Graph as the signed-in user. Each call names the delegated scopes it needs."""

    def __init__(self, settings: Any, tokens: TokenProvider, *, http_client: Any = None) -> None:
        self.settings = settings
        self.tokens = tokens
        # Tests pass an httpx.AsyncClient on a MockTransport; msgraph's middleware still wraps it.
        self._http_client = http_client
        self._adapter: Any = None
        self._plain_client: Any = None  # for pre-authenticated upload URLs (no token, no Graph pipeline)
        self.session_cache: dict[str, Any] = {}  # per-session facts about the user (tools.timezones)

    def _get_adapter(self) -> Any:
        if self._adapter is None:
            with quiet_gc():  # imports msgraph, kiota, httpx: long-lived objects, see _gc.py
                self._adapter = self._build_adapter()
        return self._adapter

    def _build_adapter(self) -> Any:
        import httpx
        from kiota_authentication_azure.azure_identity_authentication_provider import (
            AzureIdentityAuthenticationProvider,
        )
        from msgraph.graph_request_adapter import GraphRequestAdapter
        from msgraph_core import GraphClientFactory

        resource = self.settings.graph_resource
        auth = AzureIdentityAuthenticationProvider(
            ProviderCredential(self.tokens, resource),
            scopes=[f"{resource}/.default"],  # replaced per call by call_scopes
            # The token is attached only for the configured Graph host, never another.
            allowed_hosts=[self.settings.graph_host],
        )
        # HTTP/1.1 with keep-alive: the h2 stack costs extra imports on the first call, and a
        # local single-user server gains nothing from multiplexing. msgraph's middleware wraps it.
        http_client = self._http_client or httpx.AsyncClient(timeout=httpx.Timeout(100.0, connect=30.0))
        adapter = GraphRequestAdapter(auth, GraphClientFactory.create_with_default_middleware(client=http_client))
        adapter.base_url = self.settings.graph_url
        return adapter

    def url_for(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """An absolute URL on the configured Graph host for a relative path like /me/messages."""
        if "://" in path:
            self._check_same_host(path)
            url = path
        else:
            url = self.settings.graph_url + "/" + path.lstrip("/")
        _refuse_dot_segments(urlsplit(url).path)
        if params:
            query = urlencode({k: _query_value(v) for k, v in params.items() if v is not None}, safe="$,:'()/ ")
            url += ("&" if "?" in url else "?") + query.replace(" ", "%20")
        return url

    def _check_same_host(self, url: str) -> None:
        parts, graph = urlsplit(url), urlsplit(self.settings.graph_url)
        if parts.scheme != "https" or parts.netloc.lower() != graph.netloc.lower():
            raise GraphError(
                f"Refusing to call {parts.scheme}://{parts.netloc}: only the configured Graph host "
                f"{graph.netloc} may receive your token.",
                status=None,
                code="ForeignHost",
            )

    async def request(
        self,
        method: str,
        path: str,
        *,
        scopes: Sequence[str],
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        content_type: str = "application/octet-stream",
        headers: Mapping[str, str] | None = None,
        raw: bool = False,
        may_duplicate: bool = False,
    ) -> GraphResponse:
        """Send one Graph request; raise GraphError for any 4xx/5xx after the SDK's retries.

        `content` sends bytes (uploads); `raw=True` returns the response body as bytes (downloads).
        `may_duplicate=True` marks a request that would act twice if repeated after Graph had
        already done it (sending mail, creating an event): msgraph's middleware would retry it on
        503/504, when the first attempt may have gone through. Such a request is retried only on
        429, which Graph answers before doing anything, once, after Retry-After (at most 30 s).
        """
        if may_duplicate:
            try:
                return await self._send(method, path, scopes, params, json_body, content, content_type, headers, raw, False)
            except GraphError as exc:
                if exc.status != 429:
                    raise
                await anyio.sleep(min(30.0, exc.retry_after or 2.0))
            return await self._send(method, path, scopes, params, json_body, content, content_type, headers, raw, False)
        return await self._send(method, path, scopes, params, json_body, content, content_type, headers, raw, True)

    async def _send(
        self,
        method: str,
        path: str,
        scopes: Sequence[str],
        params: Mapping[str, Any] | None,
        json_body: Any,
        content: bytes | None,
        content_type: str,
        headers: Mapping[str, str] | None,
        raw: bool,
        sdk_retries: bool,
    ) -> GraphResponse:
        from kiota_abstractions.method import Method
        from kiota_abstractions.native_response_handler import NativeResponseHandler
        from kiota_abstractions.request_information import RequestInformation
        from kiota_http.middleware.options import ResponseHandlerOption

        url = self.url_for(path, params)
        # Fail on auth problems before entering the HTTP pipeline, with our own errors;
        # the pipeline's credential then reuses this token (see credential.call_token).
        access = await self.tokens.get_token(self.settings.graph_resource, scopes)

        info = RequestInformation()
        info.http_method = Method[method.upper()]
        info.url = url
        for name, value in (headers or {}).items():  # first, so a caller may replace Accept
            info.headers.try_add(name, value)
        info.headers.try_add("Accept", "application/json")
        if json_body is not None:
            info.headers.try_add("Content-Type", "application/json")
            info.content = json.dumps(json_body).encode("utf-8")
        elif content is not None:
            info.headers.try_add("Content-Type", content_type)
            info.content = content
        options: list[Any] = [ResponseHandlerOption(NativeResponseHandler())]
        if not sdk_retries:
            from kiota_http.middleware.options import RetryHandlerOption

            options.append(RetryHandlerOption(max_retries=0))
        if not (raw and method.upper() == "GET"):
            # A redirect is followed only for a content download (without our token, see _build_adapter):
            # an API answer must come from Graph itself, and a body is never re-sent to another host.
            from kiota_http.middleware.options import RedirectHandlerOption

            options.append(RedirectHandlerOption(should_redirect=False))
        info.add_request_options(options)

        adapter = self._get_adapter()
        scopes_reset, token_reset = call_scopes.set(tuple(scopes)), call_token.set(access)
        try:
            response = await adapter.send_async(info, None, {})
        except GraphError:
            raise
        except Exception as exc:
            if isinstance(exc, _auth_errors()):
                raise
            raise GraphError(
                f"{method.upper()} {_display_path(url)}: could not reach Microsoft Graph ({type(exc).__name__}). "
                "Check the network and LOCAL_MCP_GRAPH_URL, then try again.",
                retryable=True,
            ) from exc
        finally:
            call_scopes.reset(scopes_reset)
            call_token.reset(token_reset)
        if response.status_code >= 400:
            raise graph_error(method, url, response.status_code, _parse_body(response), response.headers, scopes)
        if response.status_code in _REDIRECTS:
            target = urlsplit(str(response.headers.get("Location") or "")).netloc or "another address"
            raise GraphError(
                f"{method.upper()} {_display_path(url)}: Graph answered with a redirect to {target}, which local-mcp does "
                "not follow for this call (an answer must come from Graph itself, and a request body is never sent "
                "elsewhere). Try again; if it persists, check LOCAL_MCP_GRAPH_URL.",
                status=response.status_code,
                code="UnexpectedRedirect",
            )
        body = response.content if raw else _parse_body(response)
        return GraphResponse(response.status_code, dict(response.headers), body)

    async def send_pre_authenticated(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> GraphResponse:
        """Call a URL that Graph handed out with its own authorization (an upload session's uploadUrl).

        Such URLs carry a short-lived credential of their own and may live on another host
        (SharePoint), so this never sends our token and never goes through the Graph pipeline.
        Only https is allowed; the URL (its query holds that credential) is never shown or logged.
        """
        import httpx

        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.netloc:
            raise GraphError(
                "Refusing an upload URL that is not https; try again, and report this if it persists.",
                code="InsecureUploadUrl",
            )
        client = self._http_client
        if client is None:
            if self._plain_client is None:
                self._plain_client = httpx.AsyncClient(timeout=httpx.Timeout(120.0, connect=15.0))
            client = self._plain_client
        try:
            response = await client.request(method.upper(), url, content=content, headers=dict(headers or {}))
        except httpx.HTTPError as exc:
            raise GraphError(
                f"{method.upper()} upload session: could not reach the upload URL ({type(exc).__name__}). "
                "Check the network and try again.",
                retryable=True,
            ) from exc
        if response.status_code in (401, 403, 404):
            raise GraphError(
                f"{method.upper()} upload session: {response.status_code} {_REASONS.get(response.status_code, '')}: "
                "the upload session has expired or was cancelled; upload the file again.",
                status=response.status_code,
            )
        if response.status_code >= 400:
            raise graph_error(
                method, f"{parts.scheme}://{parts.netloc}/(upload session)", response.status_code,
                _parse_body(response), response.headers, (),
            )
        return GraphResponse(response.status_code, dict(response.headers), _parse_body(response))

    def stream(
        self,
        method: str,
        path: str,
        *,
        scopes: Sequence[str],
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AbstractAsyncContextManager[StreamedResponse]:
        """Like `request`, body left on the wire: `async with graph.stream(...) as response:`.

        Token, retries and redirects as for `request`; the body is read only as far as the
        caller iterates `response.chunks()`. A 4xx/5xx raises GraphError (see streaming.py).
        """
        from .streaming import open_stream

        return open_stream(self, method, path, scopes=scopes, params=params, headers=headers)

    def stream_pre_authenticated(
        self, url: str, *, headers: Mapping[str, str] | None = None
    ) -> AbstractAsyncContextManager[StreamedResponse]:
        """GET a URL that carries its own authorization (a downloadUrl), body unread, never with our token."""
        from .streaming import open_pre_authenticated

        return open_pre_authenticated(self, url, headers=headers)

    def plain_http_client(self) -> Any:
        """The httpx client for pre-authenticated URLs: no token, no Graph pipeline."""
        import httpx

        if self._http_client is not None:
            return self._http_client
        if self._plain_client is None:
            self._plain_client = httpx.AsyncClient(timeout=httpx.Timeout(120.0, connect=15.0))
        return self._plain_client

    async def get_json(
        self,
        path: str,
        *,
        scopes: Sequence[str],
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """GET a Graph object; an answer that is not a JSON object (a list, text, nothing) is an UnexpectedAnswerError."""
        response = await self.request("GET", path, scopes=scopes, params=params, headers=headers)
        if not isinstance(response.body, dict) or set(response.body) == {"raw"}:  # {"raw": ...}: not JSON (_parse_body)
            from ..errors import UnexpectedAnswerError

            raise UnexpectedAnswerError(
                f"GET {_display_path(self.url_for(path))}: Microsoft Graph's answer is not a JSON object, so "
                "local-mcp cannot read it. Try again; if it keeps happening, check LOCAL_MCP_GRAPH_URL points at "
                "Microsoft Graph.",
                status=response.status, code="UnexpectedAnswer",
            )
        return response.body


def _refuse_dot_segments(path: str) -> None:
    """No '.' or '..' segment, also percent-encoded (once, twice...) or behind an encoded slash: every id, every tool."""
    for segment in path.split("/"):
        decoded = segment
        for _ in range(3):
            decoded = unquote(decoded)
        if any(part.strip() in (".", "..") for part in re.split(r"[/\\]", decoded)):
            raise GraphError(
                "Refusing to call Microsoft Graph: an id or name in the request is '.' or '..' (or an encoding of "
                "them), which would point at another resource. Pass the `id` from a list or search result.",
                code="DotSegment",
            )


def _auth_errors() -> tuple[type[Exception], ...]:
    from ..errors import AuthError

    return (AuthError,)


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def _parse_body(response: Any) -> Any:
    content = response.content
    if not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return {"raw": content[:500].decode("utf-8", "replace")}


_LONG_WORD = re.compile(r"[^\s/'\"]{61,}")


def _shorten_words(text: str) -> str:
    """Long words (ids, mostly) shortened to 40 characters: an error never repeats a long id back."""
    return _LONG_WORD.sub(lambda m: m.group()[:40] + "…", text)


def _display_path(url: str) -> str:
    """The path of a URL for an error message, each long segment (an id) shortened."""
    return _shorten_words(urlsplit(url).path)


def graph_error(
    method: str, url: str, status: int, body: Any, headers: Mapping[str, str], scopes: Sequence[str]
) -> GraphError:
    """Graph's error JSON -> GraphError whose message says what failed and what to do next."""
    error = body.get("error", {}) if isinstance(body, dict) else {}
    if isinstance(error, str):  # OAuth-style bodies: {"error": "invalid_request", "error_description": ...}
        description = body.get("error_description") if isinstance(body, dict) else None
        error = {"code": error, "message": description if isinstance(description, str) else ""}
    elif not isinstance(error, dict):
        error = {}
    code = str(error.get("code") or "")[:100] or None
    message = _shorten_words(str(error.get("message") or "").strip()[:1000])
    inner = error.get("innerError") or error.get("innererror") or {}
    request_id = headers.get("request-id") or (inner.get("request-id") if isinstance(inner, dict) else None)
    request_id = str(request_id)[:100] if request_id else None
    reason = _REASONS.get(status, "")
    retryable = status in (429, 500, 502, 503, 504)
    if status == 401:
        step = "Graph rejected the token; call the sign_in tool (or run `local-mcp login`) and try again."
    elif status == 403:
        wanted = ", ".join(f'"{s}"' for s in scopes)
        step = (
            f"The signed-in account lacks permission for this; run the sign_in tool with scopes=[{wanted}] "
            "to consent, or ask an administrator if your organisation requires admin consent."
        )
    elif status == 404:
        step = "Check the id or path; the item may have been moved or deleted."
    elif status == 429:
        after = headers.get("Retry-After")
        step = f"Graph is throttling requests; wait {after + ' seconds' if after else 'a little'} and try again."
    elif retryable:
        step = "Graph is having trouble; try again in a minute."
    else:
        step = "Check the arguments and try again."
    head = f"{method.upper()} {_display_path(url)}: {status} {reason}".rstrip()
    if code:
        head += f" ({code})"
    text = f"{head}: {message.rstrip('.') + '. ' if message else ''}{step}"
    if request_id:
        text += f" [request-id {request_id}]"
    try:
        retry_after = float(headers.get("Retry-After") or "") if status in (429, 503) else None
    except ValueError:
        retry_after = None  # an HTTP date: rare from Graph; the caller uses its default wait
    return GraphError(text, status=status, code=code, request_id=request_id, retryable=retryable, retry_after=retry_after)
