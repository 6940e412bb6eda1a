"""A Microsoft Graph v1.0 subset over the seeded data in data.py.

Every call: count it, validate the bearer token, apply an injected fault if
one is queued, find the route, check scopes, run the handler. To add an
endpoint, write a handler taking a `Call` and add a `Route` to `routes`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import operator
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlencode

import jwt

from . import contract, data, rules
from .model import GRAPH_APP_ID, Fault
from .web import Request, Response

if TYPE_CHECKING:
    from .server import Emulator

Json = dict[str, Any]

# Graph answers with OData JSON; clients (kiota) strip the parameters.
GRAPH_JSON = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000

# Delegated permissions that allow each family of calls: any one suffices.
USER_READ = ("User.Read", "User.ReadWrite", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All",
             "Directory.Read.All", "Directory.ReadWrite.All")
MAIL_READ = ("Mail.Read", "Mail.ReadWrite", "Mail.ReadBasic")
MAIL_SEND = ("Mail.Send",)
CALENDARS_READ = ("Calendars.Read", "Calendars.ReadWrite", "Calendars.ReadBasic")
FILES_READ = ("Files.Read", "Files.Read.All", "Files.ReadWrite", "Files.ReadWrite.All",
              "Sites.Read.All", "Sites.ReadWrite.All")
# Mail.ReadBasic grants messages without their bodies.
_MAIL_BODY_SCOPES = frozenset({"mail.read", "mail.readwrite"})
_MAIL_BODY_FIELDS = ("body", "bodyPreview", "uniqueBody")

_STATUS_CODES = {  # default Graph error code per injected HTTP status
    400: "BadRequest", 401: "InvalidAuthenticationToken", 403: "ErrorAccessDenied", 404: "itemNotFound",
    429: "TooManyRequests", 500: "generalException", 502: "BadGateway", 503: "serviceNotAvailable",
    504: "GatewayTimeout",
}
_STATUS_MESSAGES = {
    429: "Too many requests, retry after some time.",
    503: "The service is temporarily unavailable. Please retry later.",
}


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.headers = status, code, message, dict(headers or {})


@dataclass
class Call:
    """One authenticated Graph request, as handed to a route handler."""

    req: Request
    params: dict[str, str]  # path parameters, percent-decoded
    scopes: frozenset[str]  # lower-cased `scp` of the token

    def option(self, name: str) -> str | None:
        """A system query option such as "top"; Graph accepts "$top" and "top"."""
        return self.req.query.get(f"${name}", self.req.query.get(name))


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    template: str  # counted as "graph <METHOD> <template>", e.g. "graph GET /me/messages/{id}"
    scopes: tuple[str, ...]
    handler: Callable[[Call], Response]


def _route(method: str, template: str, scopes: tuple[str, ...], handler: Callable[[Call], Response]) -> Route:
    """Build a route from a template: "{path}" matches several segments, any other "{name}" one."""
    def group(m: re.Match[str]) -> str:
        return f"(?P<{m[1]}>{'.+?' if m[1] == 'path' else '[^/]+'})"

    pattern = re.sub(r"\\\{(\w+)\\\}", group, re.escape(template))
    return Route(method, re.compile(f"^{pattern}$", re.IGNORECASE), template, scopes, handler)


class GraphApi:
    PREFIX = "/v1.0"

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        now = datetime.now(timezone.utc)
        self.messages = data.seed_messages(emu.user, now)
        self.folders = data.seed_folders(self.messages)
        self.events = sorted(data.seed_events(emu.user, now), key=lambda e: e["start"]["dateTime"])
        self.drive_items = data.seed_drive(emu.user, now)
        self.sent: list[tuple[str, Any]] = []  # (Graph type, JSON body) of every typed answer; see contract.py
        self.routes = [
            _route("GET", "/me", USER_READ, self.get_me),
            _route("GET", "/me/messages", MAIL_READ, self.list_messages),
            _route("GET", "/me/messages/{id}", MAIL_READ, self.get_message),
            _route("GET", "/me/mailFolders", MAIL_READ, self.list_folders),
            _route("GET", "/me/mailFolders/{id}", MAIL_READ, self.get_folder),
            _route("GET", "/me/mailFolders/{id}/messages", MAIL_READ, self.list_messages),
            _route("POST", "/me/sendMail", MAIL_SEND, self.send_mail),
            _route("GET", "/me/events", CALENDARS_READ, self.list_events),
            _route("GET", "/me/events/{id}", CALENDARS_READ, self.get_event),
            _route("GET", "/me/calendarView", CALENDARS_READ, self.calendar_view),
            _route("GET", "/me/drive/root", FILES_READ, self.get_drive_item),
            _route("GET", "/me/drive/root/children", FILES_READ, self.list_drive_children),
            _route("GET", "/me/drive/root:/{path}:/children", FILES_READ, self.list_drive_children),
            _route("GET", "/me/drive/root:/{path}:", FILES_READ, self.get_drive_item),
            _route("GET", "/me/drive/root:/{path}", FILES_READ, self.get_drive_item),
            _route("GET", "/me/drive/items/{id}", FILES_READ, self.get_drive_item),
            _route("GET", "/me/drive/items/{id}/children", FILES_READ, self.list_drive_children),
        ]
        # OneDrive content and uploads, people and directory, and Microsoft Search live in their own
        # modules. Their routes go first: "/me/drive/root:/{path}" would swallow ".../{path}:/content".
        from . import graph_files, graph_people, graph_search

        self.files = graph_files.DriveStore(self)
        self.directory = graph_people.Directory(self)
        self.routes[:0] = [*self.files.routes(), *self.directory.routes(), *graph_search.routes(self)]
        from .graph_calendar import CalendarApi  # they build on this module's helpers
        from .graph_mail import MailApi

        self.mail, self.calendar = MailApi(self), CalendarApi(self)
        self.routes += self.mail.routes() + self.calendar.routes()
        from .graph_mailbox import MailboxStore  # mailboxSettings, working hours, Prefer: outlook.timezone

        self.mailbox = MailboxStore(self)
        self.routes += self.mailbox.routes()
        from .graph_mail_organise import MailOrganiseApi

        self.mail_organise = MailOrganiseApi(self)
        self.routes += self.mail_organise.routes()
        from . import graph_calendars

        self.routes += graph_calendars.routes(self)
        from .graph_calendar_manage import EventManageApi  # update, cancel, delete
        from .graph_shared import SharedMailboxes  # /users/{id}/... and /me/calendars/{id}/...

        self.event_manage, self.shared = EventManageApi(self), SharedMailboxes(self)
        self.routes += self.event_manage.routes() + self.shared.routes()
        from .graph_contacts import ContactsApi  # Outlook contacts
        from .graph_todo import TodoApi  # Microsoft To Do

        self.todo, self.contacts = TodoApi(self), ContactsApi(self)
        self.routes += self.todo.routes() + self.contacts.routes()
        from .graph_teams import TeamsApi  # Microsoft Teams chats, teams and channels

        self.teams = TeamsApi(self)
        self.routes += self.teams.routes()

    # ---- pipeline -------------------------------------------------------------

    def handle(self, req: Request) -> Response:
        request_id = str(uuid.uuid4())
        client_request_id = req.headers.get("client-request-id") or str(uuid.uuid4())
        path = req.path[len(self.PREFIX):].rstrip("/") or "/"
        route, params = self._match(req.method, path)
        self.emu.count("graph")
        self.emu.count(f"graph {req.method} {route.template if route else path}")
        try:
            scopes = self._authenticate(req)
            if fault := self.emu.take_fault(f"graph {req.method} {route.template if route else path}", "graph"):
                raise self._fault_error(fault)
            if route is None:
                raise GraphError(404, "Request_ResourceNotFound", f"Resource '{path}' does not exist or one "
                                 "of its queried reference-property objects are not present.")
            if route.scopes and not scopes & {s.lower() for s in route.scopes}:
                raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
            response = route.handler(Call(req, params, scopes))
        except GraphError as exc:
            response = self._error_response(exc, request_id, client_request_id)
        response.headers.update({"request-id": request_id, "client-request-id": client_request_id})
        return response

    def _match(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        for route in self.routes:
            if route.method == method and (m := route.pattern.match(path)):
                return route, {k: unquote(v) for k, v in m.groupdict().items()}
        return None, {}

    def _authenticate(self, req: Request) -> frozenset[str]:
        header = req.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        self.emu.identity.obo.graph_tokens_seen.append(hashlib.sha256(token.strip().encode()).hexdigest())
        if scheme.lower() != "bearer" or not token.strip():
            raise self._unauthorized("Access token is empty.")
        token = token.strip()
        if token.count(".") != 2:
            raise self._unauthorized("IDX14100: JWT is not well formed, there are no dots (.).")
        try:
            claims = self.emu.key.verify(token, audiences=(self.emu.graph_resource, GRAPH_APP_ID),
                                         issuer=self.emu.issuer)
        except jwt.ExpiredSignatureError:
            raise self._unauthorized("Lifetime validation failed, the token is expired.") from None
        except jwt.InvalidAudienceError:
            raise self._unauthorized("Invalid audience.") from None
        except jwt.InvalidTokenError:
            raise self._unauthorized("Access token validation failure.") from None
        return frozenset(s.lower() for s in str(claims.get("scp", "")).split())

    def _www_authenticate(self, **extra: str) -> str:
        fields = {"realm": "", "authorization_uri": f"{self.emu.authority}/oauth2/v2.0/authorize",
                  "client_id": GRAPH_APP_ID, **extra}
        return "Bearer " + ", ".join(f'{k}="{v}"' for k, v in fields.items())

    def _unauthorized(self, message: str) -> GraphError:
        return GraphError(401, "InvalidAuthenticationToken", message,
                          {"WWW-Authenticate": self._www_authenticate()})

    def _fault_error(self, fault: Fault) -> GraphError:
        headers = fault.retry_after_header()
        if fault.claims_challenge:
            # The Continuous Access Evaluation challenge: the client must get a
            # new token whose nbf is at least `value`, passing these claims.
            claims = {"access_token": {"nbf": {"essential": True, "value": str(int(time.time()))}}}
            encoded = base64.b64encode(json.dumps(claims).encode()).decode("ascii")
            headers["WWW-Authenticate"] = self._www_authenticate(error="insufficient_claims", claims=encoded)
            return GraphError(fault.status or 401, "InvalidAuthenticationToken",
                              "Continuous access evaluation resulted in challenge with result: "
                              "InteractionRequired and code: TokenIssuedBeforeRevocationTimestamp", headers)
        status = fault.status or (400 if fault.error else 500)
        if status == 401:
            headers["WWW-Authenticate"] = self._www_authenticate()
        code = fault.error or _STATUS_CODES.get(status, "UnknownError")
        return GraphError(status, code, _STATUS_MESSAGES.get(status, f"Injected fault: {code}."), headers)

    def _error_response(self, exc: GraphError, request_id: str, client_request_id: str) -> Response:
        return Response.of_json({"error": {
            "code": exc.code,
            "message": exc.message,
            "innerError": {
                "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": client_request_id,
            },
        }}, exc.status, exc.headers)

    # ---- OData helpers ------------------------------------------------------------

    def _context(self, fragment: str) -> str:
        return f"{self.emu.graph_url}/$metadata#{fragment}"

    def typed(self, type_name: str, payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        """A JSON answer of Graph type `type_name` (an entity, or a page with `value`), kept for the contract check."""
        self.sent.append((type_name, payload))
        return Response.of_json(payload, status, headers, content_type=GRAPH_JSON)

    def _entity(self, item: Json, call: Call, type_name: str, context: str) -> Response:
        contract.check_query(call, type_name)
        selected = _select([item], call.option("select"), type_name)[0]
        return self.typed(type_name, {"@odata.context": self._context(context), **selected})

    def _collection(self, items: list[Json], call: Call, type_name: str, context: str, *,
                    skiptoken: bool = False, filtered: bool = False) -> Response:
        """Apply $filter/$orderby, then page with $top/$skip and an absolute @odata.nextLink.

        With `skiptoken`, the next link carries an opaque $skiptoken instead of $skip (users,
        and mail $search, page that way on Graph).
        """
        contract.check_query(call, type_name)
        rules.top(call, type_name)
        if (expr := call.option("filter")) is not None and not filtered:  # `filtered`: the caller applied it
            keep = _compile_filter(expr)
            items = [item for item in items if keep(item)]
        if (order := call.option("orderby")) is not None:
            items = _order(items, order)
        top = min(_int_option(call, "top", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
        skip = _int_option(call, "skip", 0)
        if token := call.req.query.get("$skiptoken"):
            skip = _skiptoken_offset(token)
        page = items[skip:skip + top]
        body: Json = {"@odata.context": self._context(context)}
        if (call.option("count") or "").lower() == "true":
            body["@odata.count"] = len(items)
        body["value"] = _select(page, call.option("select"), type_name)
        if skip + top < len(items):
            query = {k: v for k, v in call.req.query.items() if k not in ("$skip", "skip", "$top", "top", "$skiptoken")}
            query["$top"] = str(top)
            if skiptoken:
                query["$skiptoken"] = base64.urlsafe_b64encode(f"emu:{skip + top}".encode()).decode("ascii")
            else:
                query["$skip"] = str(skip + top)
            body["@odata.nextLink"] = (f"{self.emu.base_url}{call.req.path}?"
                                       f"{urlencode(query, quote_via=quote)}")
        return self.typed(type_name, body)

    # ---- handlers: user ----------------------------------------------------------

    def get_me(self, call: Call) -> Response:
        user = self.emu.user
        me = {
            "businessPhones": list(user.business_phones),
            "displayName": user.name,
            "givenName": user.given_name,
            "jobTitle": user.job_title,
            "mail": user.email,
            "mobilePhone": user.mobile_phone,
            "officeLocation": user.office_location,
            "preferredLanguage": user.preferred_language,
            "surname": user.surname,
            "userPrincipalName": user.email,
            "id": user.oid,
        }
        return self._entity(me, call, "user", "users/$entity")

    # ---- handlers: mail -------------------------------------------------------------

    def _readable_messages(self, call: Call, messages: list[Json]) -> list[Json]:
        if call.scopes & _MAIL_BODY_SCOPES:
            return messages
        return [{k: v for k, v in m.items() if k not in _MAIL_BODY_FIELDS} for m in messages]

    def list_messages(self, call: Call) -> Response:
        rules.messages(call)
        messages = self.messages
        if "id" in call.params:  # /me/mailFolders/{id}/messages
            folder = self._folder(call.params["id"])
            messages = [m for m in messages if m["parentFolderId"] == folder["id"]]
        else:  # Graph known issue: mail without a folder includes Teams chats
            messages = sorted(messages + self.mail.chats, key=lambda m: m["receivedDateTime"], reverse=True)
        if search := (call.option("search") or "").strip('"').lower():
            messages = [m for m in messages if search in " ".join((
                m["subject"], m["bodyPreview"], m["from"]["emailAddress"]["name"],
                m["from"]["emailAddress"]["address"])).lower()]
        oid = self.emu.user.oid
        return self._collection(self._readable_messages(call, messages), call, "message",
                                f"users('{oid}')/messages", skiptoken=call.option("search") is not None)

    def get_message(self, call: Call) -> Response:
        found = [m for m in self.messages if m["id"] == call.params["id"]]
        if not found:
            raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        message = self._readable_messages(call, found)[0]
        return self._entity(message, call, "message", f"users('{self.emu.user.oid}')/messages/$entity")

    def _folder(self, folder_id: str) -> Json:
        for folder in self.folders:
            if folder["id"].lower() == folder_id.lower():
                return folder
        raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")

    def list_folders(self, call: Call) -> Response:
        return self._collection(self.folders, call, "mailFolder", f"users('{self.emu.user.oid}')/mailFolders")

    def get_folder(self, call: Call) -> Response:
        return self._entity(self._folder(call.params["id"]), call, "mailFolder",
                            f"users('{self.emu.user.oid}')/mailFolders/$entity")

    def send_mail(self, call: Call) -> Response:
        try:
            payload = call.req.json()
        except ValueError:
            raise GraphError(400, "BadRequest", "Unable to read JSON request payload. Please ensure "
                             "Content-Type header is set and payload is of valid JSON format.") from None
        message = payload.get("message") if isinstance(payload, dict) else None
        if not isinstance(message, dict):
            raise GraphError(400, "ErrorInvalidParameter", "The value of the parameter 'Message' is empty.")
        if not any(message.get(k) for k in ("toRecipients", "ccRecipients", "bccRecipients")):
            raise GraphError(400, "ErrorInvalidRecipients", "At least one recipient isn't valid., A message "
                             "can't be sent because it contains no recipients.")
        self.emu.sent_mail.append(payload)
        return Response(202, b"", None)

    # ---- handlers: calendar ------------------------------------------------------------

    def list_events(self, call: Call) -> Response:
        from .graph_mailbox import in_preferred_zone

        return self._collection(in_preferred_zone(self.events, call), call, "event", f"users('{self.emu.user.oid}')/events")

    def get_event(self, call: Call) -> Response:
        for event in self.events:
            if event["id"] == call.params["id"]:
                from .graph_mailbox import in_preferred_zone

                return self._entity(in_preferred_zone([event], call)[0], call, "event", f"users('{self.emu.user.oid}')/events/$entity")
        raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")

    def calendar_view(self, call: Call, events: list[Json] | None = None) -> Response:
        start, end = call.req.query.get("startDateTime"), call.req.query.get("endDateTime")
        if not start or not end:
            raise GraphError(400, "ErrorInvalidParameter", "This request requires a time window specified "
                             "by the query string parameters StartDateTime and EndDateTime.")
        window_start, window_end = _parse_datetime(start), _parse_datetime(end)
        if window_start is None or window_end is None:
            raise GraphError(400, "ErrorInvalidParameter", "The value of the parameter 'StartDateTime' or "
                             "'EndDateTime' is invalid.")
        overlapping = [e for e in (self.events if events is None else events)
                       if _parse_datetime(e["start"]["dateTime"]) < window_end  # type: ignore[operator]
                       and _parse_datetime(e["end"]["dateTime"]) > window_start]  # type: ignore[operator]
        from .graph_mailbox import in_preferred_zone

        return self._collection(in_preferred_zone(overlapping, call), call, "event",
                                f"users('{self.emu.user.oid}')/calendarView")

    # ---- handlers: OneDrive ------------------------------------------------------------

    def _drive_item(self, call: Call) -> Json:
        if "id" in call.params:
            found = [i for i in self.drive_items if i["id"] == call.params["id"]]
        elif "path" in call.params:
            wanted = "/" + call.params["path"].strip("/")
            found = [i for i in self.drive_items if _drive_path(i).lower() == wanted.lower()]
        else:
            found = self.drive_items[:1]  # the root
        if not found:
            raise GraphError(404, "itemNotFound", "The resource could not be found.")
        return found[0]

    def get_drive_item(self, call: Call) -> Response:
        item = self._drive_item(call)
        if "file" in item:  # Graph's pre-authenticated content URL (an instance annotation)
            item = {**item, "@microsoft.graph.downloadUrl": self.files.download_url(item)}
        return self._entity(item, call, "driveItem",
                            f"users('{self.emu.user.oid}')/drive/items/$entity")

    def list_drive_children(self, call: Call) -> Response:
        parent = self._drive_item(call)
        if "folder" not in parent:
            raise GraphError(404, "itemNotFound", "The resource could not be found.")
        children = [i for i in self.drive_items if i["parentReference"].get("id") == parent["id"]]
        return self._collection(children, call, "driveItem",
                                f"users('{self.emu.user.oid}')/drive/items('{parent['id']}')/children")


# ---- pure helpers ------------------------------------------------------------------------


def _drive_path(item: Json) -> str:
    parent_path = item["parentReference"].get("path")
    if parent_path is None:
        return "/"  # the root
    return str(parent_path).removeprefix("/drive/root:") + "/" + str(item["name"])


def _int_option(call: Call, name: str, default: int) -> int:
    raw = call.option(name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise GraphError(400, "BadRequest", f"Invalid value '{raw}' for query option '${name}'.")
    return int(raw)


def _skiptoken_offset(token: str) -> int:
    try:
        kind, _, offset = base64.urlsafe_b64decode(token.encode("ascii")).decode("ascii").partition(":")
        if kind == "emu" and offset.isdigit():
            return int(offset)
    except (ValueError, UnicodeError):
        pass
    raise GraphError(400, "BadRequest", "The $skiptoken is not valid; start again from the first page.")


def _select(items: list[Json], select: str | None, type_name: str) -> list[Json]:
    """Apply $select against the type's declared properties (contract.py): unknown ones are a 400; id/etag stay."""
    if not select or not items:
        return items
    wanted = [contract.resolve(name, type_name) for name in (s.strip() for s in select.split(",") if s.strip())]
    keep = set(wanted) if type_name == "user" else set(wanted) | {"id", "@odata.etag"}
    return [{k: v for k, v in item.items() if k in keep} for item in items]


def _parse_datetime(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)  # 3.11 accepts "Z" and 7 fractional digits
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)  # Graph default is UTC


def _lookup(item: Json, path: str) -> Any:
    value: Any = item
    for part in path.split("/"):
        value = value.get(part) if isinstance(value, dict) else None
    return value


_ORDERING: dict[str, Callable[[Any, Any], Any]] = {
    "gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le,
}
_CLAUSE = re.compile(r"\s*([A-Za-z0-9_/]+)\s+(eq|ne|gt|ge|lt|le)\s+('(?:[^']|'')*'|[^\s')]+)\s*", re.I)
_AND = re.compile(r"and\s", re.I)


def _literal(token: str) -> Any:
    if token.startswith("'"):
        return token[1:-1].replace("''", "'")
    lowered = token.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    try:
        return float(token) if "." in token else int(token)
    except ValueError:
        return token  # e.g. an unquoted DateTimeOffset such as 2024-05-01T00:00:00Z


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if isinstance(actual, str) and isinstance(expected, str):
        a_time, e_time = _parse_datetime(actual), _parse_datetime(expected)
        if a_time and e_time:
            actual, expected = a_time, e_time
        else:
            actual, expected = actual.lower(), expected.lower()  # Exchange compares case-insensitively
    if op == "eq":
        return bool(actual == expected)
    if op == "ne":
        return bool(actual != expected)
    if actual is None or expected is None:
        return False
    try:
        return bool(_ORDERING[op](actual, expected))
    except TypeError:
        return False


def _compile_filter(expr: str) -> Callable[[Json], bool]:
    """Support `<property path> <op> <literal>` clauses joined by `and`."""
    clauses: list[tuple[str, str, Any]] = []
    pos = 0
    while True:
        m = _CLAUSE.match(expr, pos)
        if not m:
            raise GraphError(400, "BadRequest", f"Invalid filter clause: the emulator cannot parse '{expr}'.")
        clauses.append((m[1], m[2].lower(), _literal(m[3])))
        pos = m.end()
        if pos == len(expr):
            break
        if not (a := _AND.match(expr, pos)):
            raise GraphError(400, "BadRequest", f"Invalid filter clause: the emulator cannot parse '{expr}'.")
        pos = a.end()
    return lambda item: all(_compare(_lookup(item, p), op, v) for p, op, v in clauses)


def _order(items: list[Json], orderby: str) -> list[Json]:
    """$orderby "a desc, b": sort by the last key first; Python's sort is stable."""
    result = list(items)
    for spec in reversed([s.strip() for s in orderby.split(",") if s.strip()]):
        name, _, direction = spec.partition(" ")
        present = [i for i in result if _lookup(i, name) is not None]
        missing = [i for i in result if _lookup(i, name) is None]
        present.sort(key=lambda i: _lookup(i, name), reverse=direction.strip().lower() == "desc")
        result = missing + present  # Graph puts nulls first in ascending order
    return result
