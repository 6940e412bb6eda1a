"""Graph's schema, from msgraph-sdk's generated models (built from Graph's CSDL metadata).

Two uses:
- `check_query(call, type_name)`: the property names in $select, $filter, $orderby and
  $expand must exist on the type, as on Graph; an unknown one is a 400 with Graph's message
  ("Could not find a property named 'x' on type 'microsoft.graph.message'."). A real
  property that the emulator's data lacks is accepted and simply absent from the answer.
- `violations(type_name, body)`: every JSON body the emulator sends is parsed with the
  SDK's own kiota JsonParseNode into the model class; a property the model does not know
  (kiota keeps it in `additional_data`) is a violation. `Emulator.__exit__` fails on any.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .graph import Call

Json = dict[str, Any]

# Operators, functions and literals that may appear in $filter besides property paths.
_FILTER_WORDS = frozenset({
    "and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le", "has", "in", "true", "false", "null",
    "startswith", "endswith", "contains", "any", "all",
})
_STRING = re.compile(r"'(?:[^']|'')*'")
_NAME = re.compile(r"(?<![\w./:-])([A-Za-z_][A-Za-z0-9_]*)(/[A-Za-z_][\w/]*)?(?![\w(:-])")


def _module_name(type_name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type_name).lower()


@cache
def model_class(type_name: str) -> Any:
    """msgraph.generated.models.<snake>.<Pascal>, e.g. "driveItem" -> DriveItem."""
    module = importlib.import_module(f"msgraph.generated.models.{_module_name(type_name)}")
    return getattr(module, type_name[0].upper() + type_name[1:])


@cache
def properties(type_name: str) -> frozenset[str]:
    """Every property Graph's metadata declares on the type (and its base types)."""
    return frozenset(k for k in model_class(type_name)().get_field_deserializers() if not k.startswith("@"))


def warm_up() -> None:
    """Import the models once (~1.5 s, once per process) before serving, not inside a client's first request."""
    for type_name in ("user", "message", "event", "driveItem", "person", "attachment", "searchResponse"):
        properties(type_name)


def unknown_property(name: str, type_name: str) -> Exception:
    from .graph import GraphError  # graph.py imports this module

    return GraphError(400, "BadRequest", f"Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'.")


def resolve(name: str, type_name: str) -> str:
    """The declared spelling of `name` (Graph matches case-insensitively), or a 400.

    Instance annotations (`@microsoft.graph.downloadUrl`) may be selected too; they pass as they are.
    """
    if name.strip().startswith("@"):
        return name.strip()
    known = {p.lower(): p for p in properties(type_name)}
    found = known.get(name.strip().lower())
    if found is None:
        raise unknown_property(name.strip(), type_name)
    return found


def filter_names(expr: str) -> list[str]:
    """First segments of the property paths a $filter expression names."""
    text = _STRING.sub("''", expr)
    text = re.sub(r"\b\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:\d{2})?", "0", text)  # unquoted DateTimeOffsets
    names = []
    for match in _NAME.finditer(text):
        word = match[1]
        after = text[match.end():match.end() + 1]
        if word.lower() in _FILTER_WORDS or after == "(":
            continue
        names.append(word)
    return names


def orderby_names(orderby: str) -> list[str]:
    return [spec.strip().split()[0].split("/")[0] for spec in orderby.split(",") if spec.strip()]


def check_query(call: Call, type_name: str) -> None:
    """Validate the property names of $select, $filter, $orderby and $expand against the type."""
    for name in (s for s in (call.option("select") or "").split(",") if s.strip()):
        resolve(name.split("/")[0], type_name)
    if (expr := call.option("filter")) is not None:
        for name in filter_names(expr):
            resolve(name, type_name)
    for name in orderby_names(call.option("orderby") or ""):
        resolve(name, type_name)
    for spec in (s for s in (call.option("expand") or "").split(",") if s.strip()):
        resolve(spec.split("(")[0], type_name)


# ---- responses ------------------------------------------------------------------------------


def _unknown(value: Any, path: str, out: list[str]) -> None:
    if isinstance(value, list):
        for n, item in enumerate(value):
            _unknown(item, f"{path}[{n}]", out)
        return
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return
    extra = getattr(value, "additional_data", None) or {}
    out += [f"{path}.{key}" for key in extra if not key.startswith("@")]  # @odata.* etc. are annotations
    for field in dataclasses.fields(value):
        if field.name not in ("additional_data", "backing_store"):
            _unknown(getattr(value, field.name), f"{path}.{field.name}", out)


def violations(type_name: str, body: Any) -> list[str]:
    """Properties of `body` (one entity, or a collection page with `value`) the model does not know."""
    from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory

    if isinstance(body, dict) and isinstance(body.get("value"), list):
        paths = [f"{type_name}[{n}]" for n in range(len(body["value"]))]
        items, found = body["value"], [f"{type_name} collection.{k}" for k in body if k != "value" and not k.startswith("@")]
    else:
        items, paths, found = [body], [type_name], []
    factory = JsonParseNodeFactory()
    for item, path in zip(items, paths):
        node = factory.get_root_parse_node("application/json", json.dumps(item).encode("utf-8"))
        _unknown(node.get_object_value(model_class(type_name)), path, found)
    return found
