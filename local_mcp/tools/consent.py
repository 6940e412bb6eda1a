"""What a confirmation question says, and how an answer is read.

The person decides, the model proposes: `confirm=true` from the model is not the
person's consent. It counts only when the client cannot ask (no elicitation) and the
user opted in with LOCAL_MCP_CONFIRM_WRITES=model. An answer counts only when it is
exactly `action: accept` with `content.confirm` the JSON boolean true.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from mcp.server.mcpserver import Context

MAX_DETAIL_CHARS = 300


def accepted(answer: Any) -> bool:
    """True only for action "accept" with content {"confirm": true} (a JSON boolean, not "true" or 1)."""
    if getattr(answer, "action", None) != "accept":
        return False
    content = getattr(answer, "content", None)
    return isinstance(content, Mapping) and content.get("confirm") is True


def confirm_mode(ctx: Context) -> str:
    """LOCAL_MCP_CONFIRM_WRITES of the running server ("elicit" when unknown)."""
    try:
        settings = getattr(ctx.request_context.lifespan_context, "settings")
    except Exception:  # no lifespan state (a bare test server): the safe default
        return "elicit"
    return str(getattr(settings, "confirm_writes", "elicit") or "elicit")


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip().lower()


async def home_domain(ctx: Context) -> str | None:
    """The signed-in user's mail domain, to mark other domains as external (None when unknown)."""
    try:
        status = await getattr(ctx.request_context.lifespan_context, "tokens").status()
    except Exception:
        return None
    username = getattr(status, "username", None) or ""
    return domain_of(username) if "@" in username else None


def recipients_line(addresses: Iterable[str], home: str | None) -> str:
    """"a@contoso.com, b@fabrikam.com (EXTERNAL: fabrikam.com)" for a person to check at a glance."""
    shown = []
    for address in addresses:
        domain = domain_of(address)
        if home and domain and domain != home and not domain.endswith("." + home):
            shown.append(f"{address} (EXTERNAL: {domain})")
        else:
            shown.append(address)
    return ", ".join(shown) if shown else "nobody"


def size_text(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def body_summary(body: Any) -> str:
    """A JSON body in one short line: its size and start (recipients and subject of a mail first)."""
    if body is None:
        return "no body"
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    start = text if len(text) <= MAX_DETAIL_CHARS else text[:MAX_DETAIL_CHARS] + " …"
    return f"{size_text(len(text.encode('utf-8')))}: {start}"


def mail_parts(body: Any) -> tuple[list[str], str | None]:
    """Recipients and subject of a Graph message body ({message: {...}} or a message), when it holds one."""
    if not isinstance(body, Mapping):
        return [], None
    inner = body.get("message")
    message: Mapping[str, Any] = inner if isinstance(inner, Mapping) else body
    people: list[str] = []
    for key in ("toRecipients", "ccRecipients", "bccRecipients", "replyTo", "attendees"):
        entries = message.get(key)
        for entry in entries if isinstance(entries, list) else ():
            email = entry.get("emailAddress") if isinstance(entry, Mapping) else None
            address = email.get("address") if isinstance(email, Mapping) else None
            if isinstance(address, str) and address:
                people.append(address)
    subject = message.get("subject")
    return people, subject if isinstance(subject, str) else None


def question(summary: str, details: Mapping[str, str] | None = None) -> str:
    """The text the person sees: the summary, one line per detail, then the question."""
    lines = [summary]
    for label, value in (details or {}).items():
        lines.append(f"- {label}: {value}")
    return "\n".join(lines) + "\n\nGo ahead?"


def cannot_ask_mid_call(ctx: Context) -> bool:
    """Remote mode, stateless, with a client older than MCP 2026-07-28: no back channel for a question.

    The SDK's stateless transport cannot carry a server-to-client request (`elicitation/create`)
    and keeps no client capabilities between requests; 2026-07-28 clients get the question as an
    `input_required` result instead. With LOCAL_MCP_HTTP_SESSIONS the session remembers the
    capabilities from `initialize` and carries the request on its SSE stream, as stdio does.
    """
    try:
        settings = getattr(ctx.request_context.lifespan_context, "settings")
    except Exception:
        return False
    if getattr(settings, "transport", "stdio") != "http" or getattr(settings, "http_sessions", False):
        return False
    return (ctx.protocol_version or "") < "2026-07-28"


def refusal_without_elicitation(summary: str, *, stateless_http: bool = False) -> str:
    if stateless_http:
        return (
            f"Not done: {summary}. This server runs over stateless HTTP, where a client speaking MCP 2025-11-25 or "
            "older cannot be asked a question in the middle of a tool call, and local-mcp does not take the model's "
            "confirm=true as the user's consent. Use a client that speaks MCP 2026-07-28 (it gets the question), do it "
            "in Microsoft 365 directly, or ask the server's operator for LOCAL_MCP_HTTP_SESSIONS=1 (stateful HTTP "
            "sessions: the user is asked mid-call) or LOCAL_MCP_CONFIRM_WRITES=model (then confirm=true counts, and a "
            "manipulated model could write on its own)."
        )
    return (
        f"Not done: {summary}. This client cannot show the user a confirmation question (no MCP elicitation), and "
        "local-mcp does not take the model's confirm=true as the user's consent. The user can do it in Microsoft 365 "
        "directly, use a client that supports elicitation, or start local-mcp with LOCAL_MCP_CONFIRM_WRITES=model "
        "(then confirm=true counts, and a manipulated model could write on its own)."
    )
