"""Microsoft Search (POST /search/query) over the emulator's mail, calendar and OneDrive.

Like Graph: one of message, event or driveItem per request (they cannot be
interleaved), the permission of that type (Mail.Read, Calendars.Read, Files.Read.All),
from/size paging with `moreResultsAvailable`, page size at most 25 for mail and events,
and summaries that mark the matched words with <c0>...</c0> and cut with <ddd/>.
Every word of the query must occur (KQL `field:value` matches `value` anywhere).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from . import rules
from .graph import CALENDARS_READ, MAIL_READ, Call, GraphError, Route, _route
from .web import Response

if TYPE_CHECKING:
    from .graph import GraphApi

Json = dict[str, Any]

FILES_READ_ALL = ("Files.Read.All", "Files.ReadWrite.All", "Sites.Read.All", "Sites.ReadWrite.All")
_TYPE_SCOPES = {
    "message": tuple(s for s in MAIL_READ if s != "Mail.ReadBasic"),
    "event": CALENDARS_READ,
    "driveItem": FILES_READ_ALL,
}
_MAX_SIZE = {"message": 25, "event": 25, "driveItem": 500}


def routes(api: GraphApi) -> list[Route]:
    every = tuple(dict.fromkeys(s for scopes in _TYPE_SCOPES.values() for s in scopes))
    return [_route("POST", "/search/query", every, lambda call: query(api, call))]


def query(api: GraphApi, call: Call) -> Response:
    try:
        payload = call.req.json()
    except ValueError:
        raise GraphError(400, "BadRequest", "Unable to read JSON request payload.") from None
    requests = payload.get("requests") if isinstance(payload, dict) else None
    if not isinstance(requests, list) or not requests:
        raise GraphError(400, "BadRequest", "The search request must contain at least one request.")
    if len(requests) > 1:
        raise GraphError(400, "BadRequest", "SearchRequest Invalid (only one searchRequest per query is supported).")
    results = [_one(api, call, request) for request in requests]
    return api.typed("searchResponse", {"@odata.context": f"{api.emu.graph_url}/$metadata#search", "value": results})


def _one(api: GraphApi, call: Call, request: Any) -> Json:
    if not isinstance(request, dict):
        raise GraphError(400, "BadRequest", "Each search request must be an object.")
    types = request.get("entityTypes")
    if not isinstance(types, list) or not types:
        raise GraphError(400, "BadRequest", "SearchRequest Invalid (entityTypes is required).")
    if len(types) > 1:
        raise GraphError(400, "BadRequest", f"SearchRequest Invalid (Entity types combination {types} is not "
                         "supported: message, event and driveItem cannot be interleaved).")
    entity = types[0]
    if entity == "message":
        rules.work_or_school(api.emu.user.tid, "Searching messages")
    if entity not in _TYPE_SCOPES:
        raise GraphError(400, "BadRequest", f"SearchRequest Invalid (the emulator does not search '{entity}').")
    if not call.scopes & {s.lower() for s in _TYPE_SCOPES[entity]}:
        raise GraphError(403, "Forbidden", f"Access to {entity} is denied: the token lacks "
                         f"{' or '.join(_TYPE_SCOPES[entity])}.")
    text = str((request.get("query") or {}).get("queryString") or "").strip()
    if not text:
        raise GraphError(400, "BadRequest", "SearchRequest Invalid (queryString is required).")
    start, size = request.get("from", 0), request.get("size", 25)
    if not isinstance(start, int) or not isinstance(size, int) or start < 0 or size < 0:
        raise GraphError(400, "BadRequest", "SearchRequest Invalid (from and size must be non-negative integers).")
    if size > _MAX_SIZE[entity]:
        raise GraphError(400, "BadRequest", f"SearchRequest Invalid (size must be at most {_MAX_SIZE[entity]} "
                         f"for {entity}).")
    words = [w.split(":", 1)[-1].strip('"').lower() for w in text.split()]
    words = [w for w in words if w and w not in ("and", "or")]
    candidates = _candidates(api, entity)
    matched = [(item, haystack) for item, haystack in candidates if all(w in haystack.lower() for w in words)]
    page = matched[start:start + size]
    # For messages Graph's `total` is the number of hits on the page, not of all matches (documented).
    total = len(page) if entity == "message" else len(matched)
    container: Json = {"total": total, "moreResultsAvailable": start + size < len(matched)}
    if page:
        container["hits"] = [
            {"hitId": item["id"], "rank": start + n + 1, "summary": _summary(haystack, words),
             "resource": _resource(entity, item)}
            for n, (item, haystack) in enumerate(page)
        ]
    return {"searchTerms": words, "hitsContainers": [container]}


def _candidates(api: GraphApi, entity: str) -> list[tuple[Json, str]]:
    if entity == "message":
        return [(m, " ".join((m["subject"], m["bodyPreview"], m["from"]["emailAddress"]["name"],
                              m["from"]["emailAddress"]["address"]))) for m in api.messages]
    if entity == "event":
        return [(e, " ".join((e["subject"], e["bodyPreview"], e["location"]["displayName"],
                              e["organizer"]["emailAddress"]["name"]))) for e in api.events]
    return [(i, f"{i['name']} {api.files.text_of(i)}") for i in api.drive_items[1:] if "file" in i]


def _summary(haystack: str, words: list[str]) -> str:
    """Graph's style: matched words in <c0>, the passage cut with <ddd/>."""
    lowered = haystack.lower()
    first = min((lowered.find(w) for w in words if w in lowered), default=0)
    start = max(0, first - 60)
    passage = haystack[start:start + 200]
    for word in sorted(set(words), key=len, reverse=True):
        passage = re.sub(re.escape(word), lambda m: f"<c0>{m.group(0)}</c0>", passage, flags=re.IGNORECASE)
    return ("<ddd/>" if start else "") + passage + ("<ddd/>" if start + 200 < len(haystack) else "")


def _resource(entity: str, item: Json) -> Json:
    if entity == "message":
        keep = ("id", "createdDateTime", "lastModifiedDateTime", "receivedDateTime", "sentDateTime",
                "hasAttachments", "subject", "bodyPreview", "importance", "parentFolderId", "conversationId",
                "isRead", "isDraft", "webLink", "sender", "from")
        return {"@odata.type": "#microsoft.graph.message", **{k: item[k] for k in keep if k in item}}
    if entity == "event":
        keep = ("id", "subject", "bodyPreview", "start", "end", "isAllDay", "sensitivity", "type", "organizer",
                "location", "webLink")
        return {"@odata.type": "#microsoft.graph.event", "hasAttachments": False,
                **{k: item[k] for k in keep if k in item}}
    keep = ("id", "name", "size", "webUrl", "createdDateTime", "lastModifiedDateTime", "createdBy",
            "lastModifiedBy", "parentReference")
    resource = {"@odata.type": "#microsoft.graph.driveItem", **{k: item[k] for k in keep if k in item}}
    resource["parentReference"] = {k: v for k, v in item["parentReference"].items() if k in ("driveId", "id")}
    return resource
