"""graph_request: a guarded, generic Microsoft Graph call for what no other tool covers.

Guards:
- GET only, unless LOCAL_MCP_ALLOW_WRITES=1 (then also POST, PATCH, PUT and DELETE, and
  the tool is annotated destructive);
- a relative path only: no scheme or host, no `//`, no `.` or `..` segments (also when
  percent-encoded), no version segment (that is `api_version`), and the URL built from
  it must stay under the configured Graph URL;
- `api_version="beta"` swaps only the version segment of the configured Graph URL;
- the caller names the delegated scopes; nothing else is requested;
- a few request headers only (ConsistencyLevel, Prefer, If-Match, If-None-Match);
- the JSON answer is cut at MAX_RESULT_CHARS, with `truncated` set.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import InputRequiredResult
from pydantic import BaseModel, Field

from . import consent
from ._common import ConfirmOnce, graph_tool, short_text
from ._runtime import run_tool, state_of
from .local_files import looks_secret, secret_note
from .schemas import WRITES_ONLY

MAX_RESULT_CHARS = 100_000
ALLOWED_HEADERS = {"consistencylevel": "ConsistencyLevel", "prefer": "Prefer", "if-match": "If-Match", "if-none-match": "If-None-Match"}
_SCOPE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)+$")
_OIDC = {"openid", "profile", "offline_access", "email"}
_VERSION = re.compile(r"/(v1\.0|beta)$")

Method = Literal["GET", "POST", "PATCH", "PUT", "DELETE"]


class GraphResult(BaseModel):
    method: str
    url: str = Field(description="the path called, with the version, e.g. /v1.0/me")
    status: int
    body: Any = Field(
        default=None, description="the JSON answer (null when empty or truncated)",
        json_schema_extra={"type": ["object", "array", "string", "number", "boolean", "null"]},  # not `{}`
    )
    body_text: str | None = Field(default=None, description=f"when the answer exceeds {MAX_RESULT_CHARS:,} characters: its start, as text")
    truncated: bool = False
    next_path: str | None = Field(default=None, description="@odata.nextLink as a relative path for the next call")


def checked_path(path: str) -> tuple[str, dict[str, str]]:
    """The relative Graph path and its query parameters; ToolError for anything that could leave Graph."""
    text = path.strip()
    refuse = f"`path` must be a relative Graph path such as /me/messages (got {short_text(path, 80)!r})"
    if not text:
        raise ToolError(refuse + ".")
    raw_path, _, raw_query = text.partition("?")
    if "://" in raw_path or raw_path.lower().startswith(("http:", "https:", "//")) or "\\" in raw_path:
        raise ToolError(refuse + "; absolute URLs and other hosts are refused.")
    if any(ord(c) < 0x20 or c == "#" for c in text):
        raise ToolError(refuse + "; it must not contain control characters or '#'.")
    if not raw_path.startswith("/"):
        raw_path = "/" + raw_path
    decoded = raw_path
    for _ in range(3):  # undo double encodings such as %252e%252e
        decoded = unquote(decoded)
    if "//" in raw_path or "//" in decoded or "\\" in decoded:
        raise ToolError(refuse + "; '//' is refused.")
    segments = decoded.split("/")[1:]
    if any(s in (".", "..") for s in segments):
        raise ToolError(refuse + "; '.' and '..' segments are refused.")
    if segments and segments[0].lower() in ("v1.0", "beta"):
        raise ToolError(refuse + '; leave out the version and use api_version="beta" for the beta API.')
    # A literal '+' means '+' (a time-zone offset), not the form-encoding of a space.
    return raw_path, dict(parse_qsl(raw_query.replace("+", "%2B"), keep_blank_values=True))


def checked_scopes(scopes: list[str]) -> list[str]:
    cleaned = [s.strip() for s in scopes if s and s.strip()]
    if not cleaned:
        raise ToolError('`scopes` must name the delegated Graph permissions the call needs, e.g. ["Mail.Read"].')
    for scope in cleaned:
        if scope.lower() in _OIDC:
            raise ToolError(f"{scope!r} is added by sign-in itself; name Graph permissions such as Mail.Read.")
        if not _SCOPE.match(scope):
            raise ToolError(f'{scope!r} is not a Graph permission name such as "Mail.Read" or "Sites.Read.All".')
    return sorted(set(cleaned))


_WRITE_SCOPE = re.compile(r"\.(send|readwrite|write|manage|create|delete|fullcontrol|invite|sendas|accessasuser)(\.|$)", re.I)


def is_write_scope(scope: str) -> bool:
    """Scopes that let an app send, change or delete: Mail.Send, Files.ReadWrite.All, Sites.Manage.All, ..."""
    return bool(_WRITE_SCOPE.search(scope)) or scope.lower().endswith(".fullcontrol.all")


def base_url(graph_url: str, api_version: str | None) -> str:
    if not api_version:
        return graph_url
    return _VERSION.sub("/" + api_version, graph_url)


def register(server: MCPServer[Any], settings: Any) -> None:
    writes = bool(settings.allow_writes)
    methods = "GET, POST, PATCH, PUT or DELETE (the user confirms anything but GET)" if writes else "GET only (writes are off)"

    @graph_tool(
        server,
        settings,
        name="graph_request",
        title="Call Microsoft Graph",
        description=(
            "Call a Microsoft Graph endpoint that no other tool covers, by relative path (e.g. /me/mailFolders) with "
            f"the delegated scopes it needs; {methods}; returns the JSON answer, cut at 100 KB."
        ),
        area="graph",
        scopes=(),
        read_only=not writes,
        destructive=writes,
        idempotent=not writes,
    )
    async def graph_request(
        ctx: Context,
        path: Annotated[str, Field(min_length=1, description="relative Graph path, e.g. /me/drive/recent or /users?$top=5; no host, no version")],
        scopes: Annotated[
            list[str], Field(min_length=1, description='delegated permissions the call needs, e.g. ["Mail.Read"]')
        ],
        method: Annotated[Method, Field(description="HTTP method", json_schema_extra=WRITES_ONLY)] = "GET",
        query: Annotated[
            dict[str, str] | None, Field(description='query parameters, e.g. {"$select": "id,subject", "$top": "5"}')
        ] = None,
        body: Annotated[
            dict[str, Any] | list[dict[str, Any] | str | float | bool | None] | None,
            Field(description="JSON body for POST, PATCH or PUT", json_schema_extra=WRITES_ONLY),
        ] = None,
        api_version: Annotated[
            Literal["v1.0", "beta"] | None, Field(description="default: the configured Graph URL's version (v1.0)")
        ] = None,
        headers: Annotated[
            dict[str, str] | None,
            Field(description="only ConsistencyLevel, Prefer, If-Match or If-None-Match, e.g. {\"ConsistencyLevel\": \"eventual\"}"),
        ] = None,
        confirm: Annotated[
            bool,
            Field(description="for clients that cannot ask the user: true only when the user agreed to exactly this", json_schema_extra=WRITES_ONLY),
        ] = False,
    ) -> GraphResult | InputRequiredResult:
        state = state_of(ctx)
        verb = method.upper()
        if verb != "GET" and not state.settings.allow_writes:
            raise ToolError(
                f"graph_request can only GET: {verb} changes data, and writes are off. The user can allow them by "
                "starting local-mcp with LOCAL_MCP_ALLOW_WRITES=1."
            )
        if body is not None and verb in ("GET", "DELETE"):
            raise ToolError(f"A {verb} request has no body; put parameters in `query`.")
        relative, params = checked_path(path)
        params.update({str(k): str(v) for k, v in (query or {}).items()})
        wanted = checked_scopes(scopes)
        if not state.settings.allow_writes:
            writing = [scope for scope in wanted if is_write_scope(scope)]
            if writing:
                raise ToolError(
                    f"{writing[0]} is a write permission, and writes are off, so local-mcp never asks for it. Name a "
                    "read permission (e.g. Mail.Read), or the user can allow writes with LOCAL_MCP_ALLOW_WRITES=1."
                )
        extra: dict[str, str] = {}
        for name, value in (headers or {}).items():
            canonical = ALLOWED_HEADERS.get(name.strip().lower())
            if canonical is None:
                raise ToolError(f"Header {name!r} is not allowed; only {', '.join(ALLOWED_HEADERS.values())}.")
            if any(c in str(value) for c in "\r\n"):
                raise ToolError(f"Header {name!r} must be one line.")
            extra[canonical] = str(value)

        base = base_url(state.settings.graph_url, api_version)
        url = base + relative
        built, allowed = urlsplit(url), urlsplit(base)
        if built.netloc.lower() != allowed.netloc.lower() or not built.path.startswith(allowed.path + "/"):
            raise ToolError(f"`path` {short_text(path, 80)!r} would leave the configured Graph URL {base}.")

        gate = ConfirmOnce(ctx, confirmed=confirm, required=verb != "GET")
        people, subject = consent.mail_parts(body)
        details = {"Method": verb, "Path": built.path, "Body": consent.body_summary(body)}
        if subject is not None:
            details["Subject"] = subject

        async def run() -> GraphResult | InputRequiredResult:
            if verb != "GET":
                await state.tokens.get_token(state.settings.graph_resource, wanted)  # sign in before asking
                if people:
                    details["Recipients"] = consent.recipients_line(people, await consent.home_domain(ctx))
                asked = await gate.ask(f"Call Microsoft Graph: {verb} {built.path}", details)
                if asked is not None:
                    return asked
            response = await state.graph.request(
                verb, url, scopes=wanted, params=params or None, json_body=body, headers=extra or None,
                may_duplicate=verb == "POST",  # a POST may create or send something: never repeat it blindly
            )
            result = GraphResult(method=verb, url=built.path, status=response.status)
            payload = response.body
            raw = payload.get("raw") if isinstance(payload, dict) and set(payload) == {"raw"} else None
            if isinstance(raw, str) and (secret := looks_secret(raw)) is not None:  # file text, not JSON
                raise ToolError(f"{verb} {built.path}: {secret_note(secret)}")
            if isinstance(payload, dict) and isinstance(payload.get("@odata.nextLink"), str):
                link = payload["@odata.nextLink"]
                if link.startswith(base + "/"):
                    result.next_path = link[len(base) :]
            text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
            if payload is not None and len(text) > MAX_RESULT_CHARS:
                result.body_text, result.truncated = text[:MAX_RESULT_CHARS], True
            else:
                result.body = payload
            return result

        return await run_tool(ctx, run, consent_scopes=wanted)
