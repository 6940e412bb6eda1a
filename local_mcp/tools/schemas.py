"""What `tools/list` publishes, made compact: every tool's schemas and hints, generically.

pydantic's JSON Schema is made for documentation sites; a client pays for every byte of it in
each session, and a model reads the input schemas. `compact_listing(server)` rewrites what every
registered tool publishes (any area, present or future), without changing what a call accepts
or returns (pydantic still validates the arguments, and the results, against the models):

- input schemas: no `title` (pydantic derives it from the name: "Event Id", "get_eventArguments"),
  no `default: null`, and an optional `X | None` parameter is published as `X`: leaving it out
  is how to say "none" (null is still accepted); with writes off, no parameter marked WRITES_ONLY;
- output schemas, trimmed to what a client checks a result against: the result's top-level
  fields with their JSON types, and which of them are always present. Nested records, field
  descriptions and titles are left out (their shape is the tool's text and structured content;
  the full pydantic schema is `output_schema_of(tool)`, for the README and tests). A tool that
  returns a pydantic model gets the trimmed schema straight from the model's fields
  (`publish_output`): pydantic's full JSON Schema of 33 result models cost ~22 ms of every
  start-up, before `initialize` could be answered, only to be trimmed away;
- annotations: a read-only tool says `readOnlyHint: true` and nothing the specification calls
  meaningful only for tools that change things (`destructiveHint`, `idempotentHint`);
  `openWorldHint` only when false (true is the default).
"""

from __future__ import annotations

import types
import typing
from typing import Any, Union

from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel

_NULL = {"type": "null"}


# Marks a parameter that matters only when writes are allowed (graph_request's `method`, `body`):
# `Field(json_schema_extra=WRITES_ONLY)`. Read-only, it is not published (still accepted, and refused
# with the tool's own message if it asks for a write).
WRITES_ONLY_KEY = "x-local-mcp-writes-only"
WRITES_ONLY: dict[str, Any] = {WRITES_ONLY_KEY: True}


def compact_listing(server: MCPServer[Any], *, allow_writes: bool) -> None:
    """Rewrite every registered tool's published input schema, output schema and annotations."""
    for tool in server._tool_manager.list_tools():
        tool.parameters = compact_input(tool.parameters, allow_writes=allow_writes)
        full = tool.fn_metadata.output_schema
        if full is not None and "properties" in full:  # not one publish_output already trimmed
            tool.__dict__["output_schema"] = trim_output(full)  # Tool.output_schema is a cached_property
        hints = tool.annotations
        if hints is not None and hints.read_only_hint:
            tool.annotations = hints.model_copy(
                update={
                    "destructive_hint": None,
                    "idempotent_hint": None,
                    "open_world_hint": None if hints.open_world_hint in (None, True) else False,
                }
            )


def output_schema_of(tool: Any) -> dict[str, Any] | None:
    """The full output schema pydantic derives for a tool (what `compact_listing` trims)."""
    model = tool.fn_metadata.output_model
    if isinstance(model, type) and issubclass(model, BaseModel):
        return model.model_json_schema()
    schema = tool.fn_metadata.output_schema
    return schema if isinstance(schema, dict) else None


def result_model(fn: Any) -> type[BaseModel] | None:
    """The pydantic model a tool function returns (`Model` or `Model | InputRequiredResult`), else None.

    None means "let the SDK derive the output schema" (any other return annotation).
    """
    returned = getattr(fn, "__annotations__", {}).get("return")
    if isinstance(returned, str):  # `from __future__ import annotations`: only this one is evaluated, not every parameter's
        try:
            returned = eval(returned, getattr(fn, "__globals__", {}))  # noqa: S307 - our own source's annotation
        except Exception:  # a name local to a function: the SDK resolves it its own way
            return None
    arms = typing.get_args(returned) if typing.get_origin(returned) in (Union, types.UnionType) else (returned,)
    models = [arm for arm in arms if isinstance(arm, type) and issubclass(arm, BaseModel)
              and arm.__name__ != "InputRequiredResult"]
    others = [arm for arm in arms if not (isinstance(arm, type) and arm.__name__ == "InputRequiredResult")]
    if len(models) != 1 or len(others) != 1:
        return None
    model = models[0]
    if any(field.alias or field.serialization_alias or field.validation_alias for field in model.model_fields.values()):
        return None  # published names would differ from field names: leave it to pydantic
    return model


def publish_output(tool: Any, model: type[BaseModel]) -> None:
    """Validate a tool's results against `model` and publish its trimmed schema, without pydantic's JSON Schema.

    The tool must have been registered with `structured_output=False` (no schema derived);
    FuncMetadata reads these fields at each call (mcp's func_metadata.py says so), and builds
    the result validator at the first call. The schema is what `trim_output` makes of the full
    one (tests/test_schemas.py checks both agree for every tool).
    """
    required = [name for name, field in model.model_fields.items() if field.is_required() and not _allows_none(field.annotation)]
    tool.fn_metadata.output_model = model
    tool.fn_metadata.wrap_output = False
    tool.fn_metadata.output_schema = {"type": "object", "required": required} if required else {"type": "object"}


def _allows_none(annotation: Any) -> bool:
    """Whether a field's type admits None (pydantic then publishes it as `anyOf [..., null]`)."""
    if annotation is None or annotation is type(None):
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _allows_none(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return any(_allows_none(arm) for arm in typing.get_args(annotation))
    return False


def compact_input(schema: dict[str, Any], *, allow_writes: bool = True) -> dict[str, Any]:
    """An arguments schema without titles, null defaults, `| None` on optional parameters and, read-only,
    the parameters marked WRITES_ONLY."""
    out = _strip(schema)
    required = set(out.get("required") or ())
    properties = out.get("properties")
    if isinstance(properties, dict):
        kept: dict[str, Any] = {}
        for name, prop in properties.items():
            writes_only = isinstance(prop, dict) and prop.pop(WRITES_ONLY_KEY, False)
            if writes_only and not allow_writes and name not in required:
                continue
            kept[name] = prop if name in required else _without_null(prop)
        out["properties"] = kept
    return out


def trim_output(schema: dict[str, Any]) -> dict[str, Any]:
    """An object with the top-level fields that every result holds with a value (`required`), and nothing more.

    Every result of the tool satisfies it, and a client that checks results against it (the
    TypeScript SDK does) learns which fields are always there; field types and nested records
    are in pydantic's full schema (`output_schema_of`) and in the tool's text.
    """
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    required = [name for name in schema.get("required") or () if name in properties and not _nullable(properties[name])]
    return {"type": "object", "required": required} if required else {"type": "object"}


def _nullable(prop: Any) -> bool:
    """Whether a field's schema lets it be null (such a field says little by being present)."""
    options = prop.get("anyOf") if isinstance(prop, dict) else None
    return isinstance(options, list) and _NULL in options


def _json_types(prop: Any, defs: dict[str, Any]) -> str | list[str]:
    """The JSON type(s) a property's value may have (`object` for anything unknown)."""
    found: list[str] = []

    def visit(node: Any, depth: int) -> None:
        if not isinstance(node, dict) or depth > 8:
            found.append("object")
            return
        if "$ref" in node:
            target = defs.get(str(node["$ref"]).rsplit("/", 1)[-1])
            visit(target, depth + 1)
            return
        options = node.get("anyOf") or node.get("oneOf")
        if isinstance(options, list):
            for option in options:
                visit(option, depth + 1)
            return
        kind = node.get("type")
        if isinstance(kind, list):
            found.extend(str(k) for k in kind)
        elif isinstance(kind, str):
            found.append(kind)
        elif "enum" in node or "const" in node:
            values = node.get("enum") or [node.get("const")]
            found.extend(_type_of_value(v) for v in values)
        else:  # any value at all: say nothing narrower than JSON allows
            found.extend(["object", "array", "string", "number", "boolean", "null"])

    visit(prop, 0)
    kinds = list(dict.fromkeys("number" if k == "integer" and "number" in found else k for k in found))
    return kinds[0] if len(kinds) == 1 else kinds


def _type_of_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


def _strip(node: Any) -> Any:
    """`node` without `title` keywords and `default: null` (property names are kept, whatever they are)."""
    if isinstance(node, list):
        return [_strip(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "default" and value is None:
            continue
        if key in ("properties", "$defs", "patternProperties") and isinstance(value, dict):
            out[key] = {name: _strip(sub) for name, sub in value.items()}
        else:
            out[key] = _strip(value)
    return out


def _without_null(prop: Any) -> Any:
    """`{anyOf: [X, {type: null}]}` as X (with the property's own description and default)."""
    if not isinstance(prop, dict):
        return prop
    options = prop.get("anyOf")
    if not isinstance(options, list) or _NULL not in options:
        return prop
    rest = [option for option in options if option != _NULL]
    if not rest:
        return prop
    outer = {key: value for key, value in prop.items() if key != "anyOf"}
    if len(rest) > 1:
        return {"anyOf": rest, **outer}
    only = rest[0]
    if set(only) & set(outer):  # would clash (e.g. two descriptions): keep it as it was
        return {"anyOf": rest, **outer}
    return {**only, **outer}
