"""What tools/list publishes is compact (tools/schemas.py), for every tool, without changing what a call accepts."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from mcp import Client

from local_mcp.config import TOOLSETS
from local_mcp.server import create_server
from local_mcp.tools.schemas import compact_input, trim_output
from tests.graph_fake import page, text_of, tool_server
from tests.test_tools_mail import SUMMARY


async def _listed(settings) -> list[Any]:
    async with Client(create_server(settings)) as client:
        return list((await client.list_tools()).tools)


def _keywords(node: Any, found: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Every (keyword, value) of a schema, property names excluded."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("properties", "$defs") and isinstance(value, dict):
                for sub in value.values():
                    _keywords(sub, found)
            else:
                found.append((key, value))
                _keywords(value, found)
    elif isinstance(node, list):
        for item in node:
            _keywords(item, found)
    return found


async def test_every_published_schema_is_compact_and_valid(settings):
    tools = await _listed(settings.with_changes(allow_writes=True))
    for tool in tools:
        for schema in (tool.input_schema, tool.output_schema):
            assert schema is not None, tool.name
            jsonschema.Draft202012Validator.check_schema(schema)
            keywords = _keywords(schema, [])
            assert not [k for k, _ in keywords if k == "title"], tool.name
            assert ("default", None) not in keywords, tool.name
        optional = set(tool.input_schema.get("properties", {})) - set(tool.input_schema.get("required", ()))
        for name in optional:  # `X | None` is published as X: leaving it out says "none"
            assert {"type": "null"} not in tool.input_schema["properties"][name].get("anyOf", []), (tool.name, name)


async def test_every_cursor_publishes_its_maximum_length_and_a_longer_one_gets_our_message(make_provider, settings, graph):
    from local_mcp.tools.cursors import MAX_CURSOR_CHARS

    tools = await _listed(settings.with_changes(allow_writes=True))
    with_cursor = [t for t in tools if "cursor" in t.input_schema.get("properties", {})]
    assert len(with_cursor) >= 17
    for tool in with_cursor:
        assert tool.input_schema["properties"]["cursor"] == {
            "type": "string", "description": "`page.cursor`", "maxLength": MAX_CURSOR_CHARS}, tool.name
    async with Client(tool_server(make_provider, settings, graph)) as client:
        result = await client.call_tool("list_messages", {"cursor": "A" * (MAX_CURSOR_CHARS + 1)})
    assert result.is_error and f"longer than {MAX_CURSOR_CHARS} characters" in text_of(result), text_of(result)
    assert "validation error" not in text_of(result).lower()
    assert not graph.sent("GET", "/me/messages")


async def test_read_only_tools_publish_only_the_hints_that_apply(settings):
    tools = await _listed(settings.with_changes(allow_writes=True))
    for tool in tools:
        hints = tool.annotations.model_dump(by_alias=True, exclude_none=True)
        if hints.get("readOnlyHint"):
            # destructiveHint / idempotentHint are meaningful only when readOnlyHint is false;
            # openWorldHint defaults to true (MCP specification, ToolAnnotations)
            assert set(hints) <= {"readOnlyHint", "openWorldHint"} and hints.get("openWorldHint") in (None, False), tool.name
        else:
            assert set(hints) >= {"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"}, tool.name


def test_compact_input_keeps_what_matters():
    schema = {
        "title": "list_xArguments",
        "type": "object",
        "properties": {
            "title": {"title": "Title", "type": "string", "description": "a property named title stays"},
            "folder": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None, "title": "Folder", "description": "d"},
            "limit": {"default": 10, "maximum": 50, "minimum": 1, "type": "integer", "title": "Limit"},
            "must": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Must"},
        },
        "required": ["title", "must"],
    }
    assert compact_input(schema) == {
        "type": "object",
        "properties": {
            "title": {"type": "string", "description": "a property named title stays"},
            "folder": {"type": "string", "description": "d"},
            "limit": {"default": 10, "maximum": 50, "minimum": 1, "type": "integer"},
            "must": {"anyOf": [{"type": "string"}, {"type": "null"}]},  # required and nullable: null stays
        },
        "required": ["title", "must"],
    }


def test_quick_output_schemas_equal_the_trimmed_pydantic_ones_for_every_tool(settings):
    from mcp.server.mcpserver.utilities.func_metadata import func_metadata

    server = create_server(settings.with_changes(allow_writes=True))
    quick = 0
    for tool in server._tool_manager.list_tools():
        derived = func_metadata(tool.fn, skip_names=[tool.context_kwarg] if tool.context_kwarg else []).output_schema
        assert derived is not None, tool.name
        assert tool.output_schema == trim_output(derived), tool.name  # what the SDK would have published, trimmed
        quick += "properties" not in (tool.fn_metadata.output_schema or {})
    assert quick >= 30  # the quick path (publish_output) is the one taken


def test_trim_output_names_the_fields_every_result_holds():
    full = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}, "required": ["a"], "$defs": {}}
    assert trim_output(full) == {"type": "object", "required": ["a"]}
    assert trim_output({"type": "object", "properties": {"a": {"type": "string"}}}) == {"type": "object"}


async def test_results_still_match_the_published_schema_and_null_is_still_accepted(make_provider, settings, graph):
    graph.answer("GET", "/me/messages", page([json.loads(json.dumps(SUMMARY))], "/me/next?$skiptoken=abc"))
    async with Client(tool_server(make_provider, settings, graph)) as client:
        tool = {t.name: t for t in (await client.list_tools()).tools}["list_messages"]
        result = await client.call_tool("list_messages", {"folder": None, "cursor": None, "sender": None})
    assert not result.is_error, text_of(result)
    jsonschema.validate(result.structured_content, tool.output_schema)
    assert tool.output_schema["required"] == ["messages", "page"]


TOOLS_LIST_BUDGET = 24_000  # bytes: issue 11's line for the default tool set (writes off)


async def test_the_default_tools_list_fits_the_budget(settings):
    # What a client receives (2026-07-28, the SDK client's default, adds `_meta` with serverInfo to each result).
    async with Client(create_server(settings)) as client:
        listed = await client.list_tools()
    size = len(json.dumps(listed.model_dump(mode="json", by_alias=True, exclude_none=True), separators=(",", ":"), ensure_ascii=False).encode())
    assert settings.toolsets == TOOLSETS and not settings.allow_writes  # the default: every area, read-only
    assert size < TOOLS_LIST_BUDGET, f"tools/list is {size} bytes for {len(listed.tools)} tools; see tools/schemas.py and README"
    assert all(not tool.icons for tool in listed.tools)  # an icon each cost a quarter of the budget (README, Toolsets)
