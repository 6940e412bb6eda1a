"""Results are bounded: no single string from Graph floods the model's context.

Every structured result passes through `bound_strings` (render.compact_text) before it is
shown: a string longer than MAX_FIELD_CHARS is cut, and the object holding it says
`truncated: true`. Fields with a bound of their own keep it: a file's `content` (get_file,
256 KB), graph_request's `body_text` (100 KB) and its raw `body` (the whole answer is cut
at 100 KB). A mail or event body is cut before this, at 8,000 characters.
"""

from __future__ import annotations

from typing import Any

MAX_FIELD_CHARS = 8192  # above the 8,000 a body is cut at and a cursor's 4,096
OWN_BOUND = frozenset({"content", "body_text"})  # strings bounded by their tool


def bound_strings(data: Any) -> Any:
    """`data` (a result as JSON) with every over-long string cut and its object marked `truncated`."""
    if isinstance(data, dict):
        cut = False
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key in OWN_BOUND and isinstance(value, str):
                out[key] = value
            elif key == "body" and not isinstance(value, str):
                out[key] = value  # graph_request's raw answer: bounded as a whole
            elif isinstance(value, str) or (isinstance(value, list) and any(isinstance(v, str) for v in value)):
                out[key], was_cut = _bound_value(value)
                cut = cut or was_cut
            else:
                out[key] = bound_strings(value)
        if cut:
            out["truncated"] = True
        return out
    if isinstance(data, list):
        return [bound_strings(item) for item in data]
    return data


def _bound_value(value: Any) -> tuple[Any, bool]:
    if isinstance(value, str):
        return (value, False) if len(value) <= MAX_FIELD_CHARS else (value[:MAX_FIELD_CHARS] + " …", True)
    items, cut = [], False
    for item in value:
        if isinstance(item, str):
            item, was_cut = _bound_value(item)
            cut = cut or was_cut
        else:
            item = bound_strings(item)
        items.append(item)
    return items, cut
