"""Graph's documented query rules, enforced by the route modules; README.md lists each with its source.

Each function takes the `Call` and raises `GraphError` the way Graph answers. Keep one
function per collection (or per rule) so a rule and its row in README.md stay easy to match.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from . import contract

if TYPE_CHECKING:
    from .graph import Call

# The tenant id of personal Microsoft accounts (outlook.com, hotmail.com, live.com).
MSA_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"
# $top range per collection, from each List page ("within the range of 1 and 1000" for messages).
TOP_RANGE = {"message": (1, 1000), "user": (1, 999)}
_QUOTED = re.compile(r'^"(?:[^"\\]|\\.)*"$', re.S)


def _error(status: int, code: str, message: str) -> Exception:
    from .graph import GraphError  # graph.py imports this module

    return GraphError(status, code, message)


def top(call: Call, type_name: str) -> None:
    raw = call.option("top")
    if raw is None or type_name not in TOP_RANGE or not raw.isdigit():
        return
    low, high = TOP_RANGE[type_name]
    if not low <= int(raw) <= high:
        raise _error(400, "BadRequest", f"Invalid value '{raw}' for $top: it must be between {low} and {high}.")


def messages(call: Call) -> None:
    """List messages: $search alone (quoted KQL), and $orderby properties leading $filter."""
    if (search := call.option("search")) is not None:
        if not _QUOTED.match(search.strip()):
            raise _error(400, "BadRequest", "Syntax error: the $search value must be one string in double "
                         "quotes, e.g. $search=\"pizza\".")
        for name in ("filter", "orderby", "skip"):
            if call.option(name) is not None:
                code = "ErrorInvalidUrlQuery" if name != "skip" else "searchAndSkip"
                raise _error(400, code, f"The query parameter '${name}' is not supported with '$search'.")
    order, expr = call.option("orderby"), call.option("filter")
    if order is None or expr is None:
        return
    ordered = [contract.resolve(n, "message").lower() for n in contract.orderby_names(order)]
    filtered = [contract.resolve(n, "message").lower() for n in contract.filter_names(expr)]
    if filtered[:len(ordered)] != ordered:
        raise _error(400, "InefficientFilter", "The restriction or sort order is too complex for this operation.")


def people(call: Call) -> None:
    if call.option("search") is not None and call.option("skip") is not None:
        raise _error(400, "BadRequest", "$skip is not supported when using $search on people.")


def directory(call: Call) -> None:
    """Directory objects: $search and $count are advanced queries (ConsistencyLevel: eventual)."""
    advanced = [f"${n}" for n in ("search", "count") if call.option(n) is not None]
    if advanced and call.req.headers.get("consistencylevel", "").lower() != "eventual":
        raise _error(400, "Request_UnsupportedQuery", f"{' and '.join(advanced)} on directory objects is an "
                     "advanced query: send the header 'ConsistencyLevel: eventual'.")
    if call.option("skip") is not None:
        raise _error(400, "Request_UnsupportedQuery", "$skip is not supported on users.")


def work_or_school(tid: str, what: str) -> None:
    """Personal Microsoft accounts: the docs mark getSchedule, /manager and message search unsupported."""
    if tid.lower() == MSA_TENANT:
        raise _error(400, "ErrorNotSupported" if what != "manager" else "Request_UnsupportedQuery",
                     f"{what} is not supported for personal Microsoft accounts.")


def event_response(payload: dict[str, object]) -> None:
    """accept / tentativelyAccept / decline: a comment is sent to the organizer, so sendResponse must be true."""
    if payload.get("comment") and payload.get("sendResponse") is False:
        raise _error(400, "ErrorInvalidRequest", "A comment can't be included when sendResponse is false: the "
                     "comment is part of the response sent to the organizer.")
