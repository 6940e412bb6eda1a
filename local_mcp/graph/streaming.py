"""Graph responses read as a stream: downloads that never hold a whole file in memory.

kiota's request adapter reads every body in full before returning it. For file content
GraphClient.stream builds the request through the same adapter (so the token, msgraph's
retry and redirect middleware and its options all apply), then sends it with httpx's
`stream=True` on the adapter's own pipeline client: the caller reads the body chunk by chunk
and stops where it wants (a size cap), and the connection is closed when the block ends.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import GraphError
from .credential import call_scopes, call_token

if TYPE_CHECKING:
    from .client import GraphClient, StreamedResponse

ERROR_BODY_LIMIT = 64 * 1024  # an error answer is read at most this far


@asynccontextmanager
async def open_stream(
    graph: GraphClient,
    method: str,
    path: str,
    *,
    scopes: Sequence[str],
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> AsyncIterator[StreamedResponse]:
    from kiota_abstractions.method import Method
    from kiota_abstractions.request_information import RequestInformation

    from .client import StreamedResponse, _auth_errors, _display_path, graph_error

    url = graph.url_for(path, params)
    access = await graph.tokens.get_token(graph.settings.graph_resource, scopes)
    info = RequestInformation()
    info.http_method = Method[method.upper()]
    info.url = url
    for name, value in (headers or {}).items():  # first, so a caller may replace Accept
        info.headers.try_add(name, value)
    info.headers.try_add("Accept", "*/*")
    adapter = graph._get_adapter()
    scopes_reset, token_reset = call_scopes.set(tuple(scopes)), call_token.set(access)
    try:
        native = await adapter.convert_to_native_async(info)  # the token, and the middleware options
        response = await adapter._http_client.send(native, stream=True)
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
    try:
        if response.status_code >= 400:
            body = await read_error_body(response)
            raise graph_error(method, url, response.status_code, body, response.headers, scopes)
        yield StreamedResponse(response)
    finally:
        await response.aclose()


@asynccontextmanager
async def open_pre_authenticated(
    graph: GraphClient, url: str, *, headers: Mapping[str, str] | None = None
) -> AsyncIterator[StreamedResponse]:
    """GET `url` with no token and outside the Graph pipeline; https only; the URL is never shown."""
    import httpx

    from .client import StreamedResponse, graph_error

    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc:
        raise GraphError(
            "Refusing a download URL that is not https; try again, and report this if it persists.",
            code="InsecureDownloadUrl",
        )
    client = graph.plain_http_client()
    try:
        request = client.build_request("GET", url, headers={"Accept": "*/*", **dict(headers or {})})
        response = await client.send(request, stream=True)
    except httpx.HTTPError as exc:
        raise GraphError(
            f"GET download URL: could not reach it ({type(exc).__name__}). Check the network and try again.",
            retryable=True,
        ) from exc
    try:
        if response.status_code >= 400:
            body = await read_error_body(response)
            shown = f"{parts.scheme}://{parts.netloc}/(download URL)"
            raise graph_error("GET", shown, response.status_code, body, response.headers, ())
        yield StreamedResponse(response)
    finally:
        await response.aclose()


async def read_error_body(response: Any) -> Any:
    """The start of an error answer, parsed like a normal body (never the whole of a huge one)."""
    data = b""
    async for chunk in response.aiter_bytes(16 * 1024):
        data += chunk
        if len(data) >= ERROR_BODY_LIMIT:
            break
    try:
        return json.loads(data) if data else None
    except ValueError:
        return {"raw": data[:500].decode("utf-8", "replace")}
