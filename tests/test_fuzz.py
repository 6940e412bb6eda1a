"""Issue 10: a fuzz pass over every tool's arguments, against a Graph that answers anything.

For each tool, hypothesis draws arguments from its published inputSchema (with wrong types
mixed in: a string where a number goes, an object where a list goes, unknown names) and a
run of Graph answers (good pages, odd shapes, non-JSON bodies, error bodies of every form,
strings far longer than any Graph field). Every call goes through the SDK's in-memory
client to the real server, with writes allowed and a person who declines every question.
Each call must be answered; no answer may be the SDK's bare "Error executing tool X" (a
crash, which tells the model nothing); no answer and no log line may hold a token.

Deterministic (derandomize=True) so CI sees the same examples every run; the number of
examples per tool is LOCAL_MCP_TEST_FUZZ_EXAMPLES (default 6).
"""

from __future__ import annotations

import json
import logging
import os
import re
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings as hsettings, strategies as st
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import ElicitResult

from local_mcp.server import create_server
from tests.fakes import FakeApp, memory_cache_opener
from tests.graph_fake import FakeGraph, text_of

EXAMPLES = int(os.environ.get("LOCAL_MCP_TEST_FUZZ_EXAMPLES", "6"))
SECRETS = ("at-secret", "device-secret", "Bearer ")
BARE = re.compile(r"Error executing tool [a-z_]+(?![a-z_]|: )")  # the name, then no reason

# ----- what Graph may answer ---------------------------------------------------------------------

FIELDS = [
    "id", "name", "subject", "displayName", "mail", "userPrincipalName", "size", "file", "folder", "body",
    "bodyPreview", "from", "sender", "toRecipients", "ccRecipients", "emailAddress", "address", "start", "end",
    "dateTime", "timeZone", "location", "attendees", "organizer", "isRead", "hasAttachments", "importance",
    "receivedDateTime", "sentDateTime", "createdDateTime", "lastModifiedDateTime", "webUrl", "webLink",
    "parentReference", "path", "driveId", "mimeType", "contentType", "content", "childCount", "value",
    "@odata.nextLink", "@microsoft.graph.downloadUrl", "hitsContainers", "hits", "resource", "summary",
    "scoredEmailAddresses", "jobTitle", "categories", "flag", "flagStatus", "responseStatus", "response",
    "isOnlineMeeting", "onlineMeeting", "joinUrl", "uploadUrl", "expirationDateTime", "nextExpectedRanges",
    "scheduleItems", "availabilityView", "meetingTimeSuggestions", "isDefaultCalendar", "canEdit", "color",
    "unreadItemCount", "totalItemCount", "parentFolderId", "wellKnownName", "isInline", "contentBytes",
    "mailboxSettings", "timeZone", "workingHours", "error", "code", "message",
]
ODD_STRINGS = st.sampled_from([
    "", " ", "x" * 20000, "é" * 3000, "9999-12-31T23:59:59Z", "0001-01-01T00:00:00", "not a date",
    "2026-11-22T09:00:00.1234567", "https://evil.example/x", "/v1.0/me", "\x00\x01", "<b>html</b>", "0" * 300,
])
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20), ODD_STRINGS,
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(FIELDS), inner, max_size=5),
    ),
    max_leaves=12,
)
ITEM = st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=8)


def _json_reply(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(), headers={"content-type": "application/json"})


REPLIES = st.one_of(
    st.builds(lambda items: _json_reply(200, {"value": items}), st.lists(ITEM, max_size=3)),
    st.builds(lambda item: _json_reply(200, item), ITEM),
    st.builds(lambda body: _json_reply(200, body), JSON),
    st.builds(lambda status, error: _json_reply(status, {"error": error}), st.sampled_from([400, 401, 403, 404, 409, 413, 500, 503]), JSON),
    st.sampled_from([
        httpx.Response(200, text="<html>not json</html>", headers={"content-type": "text/html"}),
        httpx.Response(200, content=b"\xff\xfe\x00garbage"),
        httpx.Response(204),
        httpx.Response(201, content=b""),
        _json_reply(200, []),
        _json_reply(200, {"value": "not a list"}),
        _json_reply(200, {"value": [1, "x", None]}),
        _json_reply(200, {"value": [], "@odata.nextLink": "https://evil.example/v1.0/me/messages?$skip=1"}),
        httpx.Response(400, text="plain text failure"),
        httpx.Response(302, headers={"Location": "https://evil.example/"}),
    ]),
)

# ----- arguments from a tool's inputSchema --------------------------------------------------------

ODD_ARGS = st.sampled_from([
    "", ".", "..", "%2e%2e", "x" * 3000, "../../etc/passwd", "/etc/passwd", "9999-12-31T23:59:59",
    "0001-01-01T00:00:00", "9999-12-31", "2026-11-22T09:00:00Z", "megan@contoso.example", "not an address",
    "/me/messages", "/me/sendMail", "https://evil.example/x", "ü" * 200 + ".txt", "\x00", "*", "'", "a/b",
])
WRONG = st.one_of(SCALARS, st.lists(SCALARS, max_size=2), st.dictionaries(st.text(max_size=5), SCALARS, max_size=2))


def from_schema(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values that fit `schema` (the subset of JSON Schema pydantic emits for tool arguments)."""
    if "$ref" in schema:
        return from_schema(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "anyOf" in schema:
        return st.one_of([from_schema(option, defs) for option in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "string":
        return st.one_of(st.text(max_size=30), ODD_ARGS)
    if kind == "integer":
        low, high = schema.get("minimum"), schema.get("maximum")
        return st.one_of(st.integers(min_value=low, max_value=high), st.integers(min_value=-(2**40), max_value=2**62))
    if kind == "number":
        return st.floats(allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        return st.lists(from_schema(schema.get("items") or {}, defs), max_size=3)
    if kind == "object" and "properties" in schema:
        return arguments(schema, defs)
    return st.dictionaries(st.sampled_from(["a", "subject", "message", "value"]), JSON, max_size=3)


def arguments(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """An arguments object: required names always, optional ones sometimes; some of the wrong type, some unknown."""
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    fitting = {name: from_schema(prop, defs) for name, prop in properties.items()}
    fits = st.fixed_dictionaries(
        {n: fitting[n] for n in sorted(required)}, optional={n: fitting[n] for n in sorted(set(properties) - required)}
    )
    wrong = st.fixed_dictionaries({}, optional={name: WRONG for name in sorted(properties)})
    return st.builds(_assemble, fits, wrong, st.integers(0, 7))


def _assemble(args: dict[str, Any], wrong: dict[str, Any], dice: int) -> dict[str, Any]:
    if dice == 0:
        return {**args, **wrong}  # one in eight: some values of the wrong type
    if dice == 1:
        return {**args, "unexpected_argument": "x"}
    return args


# ----- the pass ---------------------------------------------------------------------------------------


def _tool_schemas() -> dict[str, dict[str, Any]]:
    from local_mcp.config import Settings

    async def listing() -> dict[str, dict[str, Any]]:
        s = Settings(authority="https://login.example/tid-1", graph_url="https://graph.example/v1.0", allow_writes=True)
        async with Client(create_server(s)) as client:
            return {tool.name: tool.input_schema for tool in (await client.list_tools()).tools}

    return anyio.run(listing)


SCHEMAS = _tool_schemas()


async def _decline(context: Any, params: Any) -> ElicitResult:
    return ElicitResult(action="decline")


@pytest.fixture
def writes(settings, tmp_path):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "report.txt").write_text("numbers")
    return settings.with_changes(allow_writes=True, download_dir=tmp_path / "downloads", upload_dirs=(uploads,))


@pytest.mark.parametrize("tool", sorted(SCHEMAS))
def test_every_call_is_answered_with_a_reason_and_no_token(tool, writes, tmp_path, caplog, monkeypatch):
    from kiota_http.middleware.retry_handler import RetryHandler

    from local_mcp.auth.tokens import TokenProvider

    monkeypatch.setattr(RetryHandler, "get_delay_time", lambda *args, **kwargs: 0.0)  # retries, without the waits

    schema = SCHEMAS[tool]
    caplog.set_level(logging.DEBUG)

    @hsettings(
        max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, phases=[Phase.generate],
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(args=arguments(schema, schema.get("$defs") or {}), replies=st.lists(REPLIES, min_size=1, max_size=4))
    def one(args: dict[str, Any], replies: list[httpx.Response]) -> None:
        graph = FakeGraph()
        answers = list(replies)

        def reply(request: httpx.Request) -> httpx.Response:
            return answers.pop(0) if len(answers) > 1 else answers[0]

        for method in ("GET", "POST", "PATCH", "PUT", "DELETE"):
            graph.answer(method, re.compile("."), reply)
        provider = TokenProvider(
            writes, app_factory=lambda *_: FakeApp(), cache_opener=memory_cache_opener(tmp_path / "cache" / "c.bin")
        )
        server = create_server(writes, tokens=provider, graph_http_client=httpx.AsyncClient(transport=httpx.MockTransport(graph.handler)))

        async def run() -> str:
            with anyio.fail_after(30):
                async with Client(server, elicitation_callback=_decline) as client:
                    try:
                        result = await client.call_tool(tool, args)
                    except MCPError as exc:  # a protocol error is an answer too (e.g. arguments that are not an object)
                        return f"protocol error {exc.code}: {exc.message}"
                    text = text_of(result)
                    assert not BARE.search(text), (tool, args, text)
                    if result.is_error:
                        assert len(text) > len(f"Error executing tool {tool}: ") + 10, (tool, args, text)
                    return text + json.dumps(result.structured_content or {}, default=str)

        answer = anyio.run(run)
        for secret in SECRETS:
            assert secret not in answer, (tool, args, answer[:500])

    one()
    logged = "\n".join(logging.Formatter().format(record) for record in caplog.records)
    for secret in SECRETS[:2]:
        assert secret not in logged, tool
    crashes = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert not crashes, [logging.Formatter().format(r)[-1500:] for r in crashes[:3]]
