"""Microsoft Teams for the emulator: chats and their messages, joined teams, channels and channel messages.

Each rule follows its Microsoft page (microsoft-graph-docs-contrib, api-reference/v1.0/api/):
- chat-list.md: GET /me/chats (Chat.ReadBasic, Chat.Read, Chat.ReadWrite). "$expand: Currently supports
  members and lastMessagePreview properties"; "$top: Maximum allowed `$top` value is 50"; "$filter:
  Filters results"; "$orderby: Currently supports lastMessagePreview/createdDateTime in descending order.
  Ascending order is currently not supported."; "The other OData query parameters are not currently
  supported." (the emulator refuses them, so a tool cannot come to rely on them).
- chat-get.md: GET /chats/{id}, the same permissions; $expand=members.
- chat-list-messages.md: GET /chats/{id}/messages (Chat.Read, Chat.ReadWrite). "$top: Maximum allowed
  `$top` value is 50"; "$orderBy: Currently supports the lastModifiedDateTime (default) and
  createdDateTime properties in descending order. The ascending order is currently not supported.";
  "$filter: … lastModifiedDateTime property supports the gt and lt operators. The createdDateTime
  property supports the lt operator. You can only filter results if the request URL contains the
  $orderBy and $filter query parameters configured for the same property; otherwise, the $filter query
  option is ignored."; "The other OData query parameters are not currently supported." Pages link on with
  `$top` and `$skiptoken` (the page's example nextLink).
- chat-post-messages.md: POST /chats/{id}/messages (ChatMessage.Send, Chat.ReadWrite), a chatMessage
  body; 201 Created with the new chatMessage.
- user-list-joinedteams.md: GET /me/joinedTeams (Team.ReadBasic.All, TeamSettings.Read(Write).All,
  User.Read(Write).All, Directory.Read(Write).All). "This method does not currently support the OData
  query parameters"; "this API call returns only the id, displayName, and description properties".
- team-get.md: GET /teams/{id} (Team.ReadBasic.All and the settings/directory scopes).
- channel-list.md / channel-get.md: GET /teams/{id}/channels[/{id}] (least privileged Channel.ReadBasic.All;
  ChannelSettings.Read(Write).All, Directory.*, Group.* too). "This method supports the $filter and $select
  OData query parameters" ($top is not among them: refused).
- channel-list-messages.md: GET /teams/{id}/channels/{id}/messages, delegated ChannelMessage.Read.All only
  (an admin-consent permission). "$top … The default page size is 20 messages. You can extend up to 50
  channel messages per page."; "$expand … replies"; "The other OData query parameters are not currently
  supported." The messages come "without the replies".
- channel-post-messages.md: POST /teams/{id}/channels/{id}/messages (ChannelMessage.Send; Group.ReadWrite.All
  for backward compatibility). "Only the body property is mandatory."; 201 Created with the chatMessage.
Every page above: "Delegated (personal Microsoft account) | Not supported." (rules.work_or_school).
An unknown chat, team or channel is 404 NotFound. Property names are msgraph-sdk's (chat, chatMessage,
team, channel, aadUserConversationMember, chatMessageInfo, chatMessageMention).
"""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from . import contract, data, rules
from .graph import Call, GraphError, Route, _route
from .graph_mail_organise import _payload
from .web import Response

if TYPE_CHECKING:
    from .graph import GraphApi

Json = dict[str, Any]

CHAT_READ = ("Chat.ReadBasic", "Chat.Read", "Chat.ReadWrite")  # chat-list.md, chat-get.md
CHAT_MESSAGES_READ = ("Chat.Read", "Chat.ReadWrite")  # chat-list-messages.md
CHAT_MESSAGE_SEND = ("ChatMessage.Send", "Chat.ReadWrite")  # chat-post-messages.md
TEAMS_READ = ("Team.ReadBasic.All", "TeamSettings.Read.All", "TeamSettings.ReadWrite.All", "User.Read.All",
              "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")  # user-list-joinedteams.md
CHANNELS_READ = ("Channel.ReadBasic.All", "ChannelSettings.Read.All", "ChannelSettings.ReadWrite.All",
                 "Directory.Read.All", "Directory.ReadWrite.All", "Group.Read.All", "Group.ReadWrite.All")  # channel-list
CHANNEL_MESSAGES_READ = ("ChannelMessage.Read.All",)  # channel-list-messages.md (admin consent)
CHANNEL_MESSAGE_SEND = ("ChannelMessage.Send", "Group.ReadWrite.All")  # channel-post-messages.md

CHAT_OPTIONS = frozenset({"expand", "top", "filter", "orderby"})  # chat-list.md
CHAT_EXPAND = frozenset({"members", "lastmessagepreview"})
MESSAGE_OPTIONS = frozenset({"top", "orderby", "filter"})  # chat-list-messages.md
CHANNEL_OPTIONS = frozenset({"filter", "select"})  # channel-list.md
CHANNEL_MESSAGE_OPTIONS = frozenset({"top", "expand"})  # channel-list-messages.md
MAX_TOP = 50
CHANNEL_MESSAGES_DEFAULT_TOP = 20
_ALL_OPTIONS = ("select", "expand", "filter", "orderby", "top", "skip", "search", "count", "format")


def _unsupported(call: Call, allowed: frozenset[str], page: str) -> None:
    for name in _ALL_OPTIONS:
        if name not in allowed and call.option(name) is not None:
            raise GraphError(400, "BadRequest", f"Query option '${name}' is not supported on this request ({page}).")


def _top(call: Call, default: int) -> int:
    raw = call.option("top")
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_TOP:
        raise GraphError(400, "BadRequest", f"Invalid page size '{raw}': the maximum allowed $top value is {MAX_TOP}.")
    return int(raw)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# ---- seeded data -------------------------------------------------------------------------------

# (chat key, chatType, topic, member locals (besides the user), messages newest first:
#  (author local or None for the user, minutes ago, html or text, mentioned locals))
_CHATS: list[tuple[str, str, str | None, tuple[str, ...], list[tuple[str | None, int, str, tuple[str, ...]]]]] = [
    ("megan", "oneOnOne", None, ("megan",), [
        ("megan", 25, "<p>Can you send me the <b>Q3 deck</b> before the review?</p>", ()),
        (None, 90, "Sure, after lunch.", ()),
    ]),
    ("launch", "group", "Launch crew", ("alex", "lee", "megan"), [
        ("alex", 40, '<p><at id="0">Lee Gu</at> the budget sheet is in the Launch folder</p>', ("lee",)),
        ("lee", 70, "<div>Thanks &amp; noted. Who books the venue?</div>", ()),
        ("megan", 200, "Kick-off is on Thursday", ()),
        ("@event", 300, "<systemEventMessage/>", ()),
    ]),
    ("sync", "meeting", "Weekly product sync", ("isaiah", "joni"), [
        ("isaiah", 1500, '<p>Notes are up, <at id="0">{me}</at> please check the action items</p>', ("@me",)),
    ]),
]
# (team key, displayName, description, channels: (name, description, membershipType), messages in General)
_TEAMS = [
    ("mark8", "Mark 8 Project Team", "Everything about the Mark 8 launch", [
        ("General", "", "standard"), ("Design", "Industrial and UX design", "standard"),
        ("Leadership", "Private: launch decisions", "private"),
    ]),
    ("retail", "Retail", "Store operations and promotions", [("General", "", "standard")]),
]
_CHANNEL_POSTS = [  # (team key, channel name, author local, minutes ago, subject, html, mentioned locals)
    ("mark8", "General", "megan", 60, "Launch date", '<p>We ship on the 14th. <at id="0">Alex Wilber</at> owns the checklist.</p>', ("alex",)),
    ("mark8", "General", "alex", 600, None, "<p>Welcome to the Mark 8 team!</p>", ()),
    ("mark8", "Design", "nestor", 120, "Renders", "<p>New renders are in the Files tab</p>", ()),
]


class TeamsApi:
    def __init__(self, api: GraphApi) -> None:
        self.api = api
        user = api.emu.user
        self.people: dict[str, Json] = {"@me": {"id": user.oid, "displayName": user.name, "mail": user.email}}
        for name, local in data.PEOPLE:
            user_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"emulator-user:{local}"))  # as graph_people.Directory
            self.people[local] = {"id": user_id, "displayName": name, "mail": f"{local}@{user.domain}"}
        self.sent: list[Json] = []  # {"where": "chat"|"channel", "id": …, "payload": …} of every POST
        now = datetime.now(timezone.utc)
        self.chats: list[Json] = []
        self.chat_messages: dict[str, list[Json]] = {}
        for key, kind, topic, members, messages in _CHATS:
            chat_id = f"19:{uuid.uuid5(uuid.NAMESPACE_URL, 'chat:' + key).hex}@thread.v2"
            posts = [self._message(now - timedelta(minutes=ago), who, text.replace("{me}", user.given_name), mentioned, chat_id=chat_id)
                     for who, ago, text, mentioned in messages]
            last = posts[0]
            self.chats.append({
                "id": chat_id, "topic": topic, "chatType": kind, "tenantId": user.tid,
                "createdDateTime": _iso(now - timedelta(days=30)), "lastUpdatedDateTime": last["lastModifiedDateTime"],
                "webUrl": f"https://teams.microsoft.com/l/chat/{chat_id}/0?tenantId={user.tid}",
                "viewpoint": {"isHidden": False, "lastMessageReadDateTime": posts[-1]["createdDateTime"]},
                "_members": ["@me", *members],
            })
            self.chat_messages[chat_id] = posts
        self.teams: list[Json] = []
        self.channels: dict[str, list[Json]] = {}
        self.channel_messages: dict[tuple[str, str], list[Json]] = {}
        for key, name, description, channels in _TEAMS:
            team_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "team:" + key))
            self.teams.append({"id": team_id, "displayName": name, "description": description, "_key": key,
                               "visibility": "private", "isArchived": False, "tenantId": user.tid,
                               "webUrl": f"https://teams.microsoft.com/l/team/{team_id}"})
            self.channels[team_id] = []
            for channel_name, channel_description, membership in channels:
                channel_id = f"19:{uuid.uuid5(uuid.NAMESPACE_URL, f'channel:{key}:{channel_name}').hex}@thread.tacv2"
                self.channels[team_id].append({
                    "id": channel_id, "displayName": channel_name, "description": channel_description or None,
                    "membershipType": membership, "isArchived": False, "tenantId": user.tid,
                    "createdDateTime": _iso(now - timedelta(days=200)),
                    "webUrl": f"https://teams.microsoft.com/l/channel/{channel_id}/{channel_name}?groupId={team_id}",
                })
                self.channel_messages[(team_id, channel_id)] = [
                    self._message(now - timedelta(minutes=ago), who, html, mentioned, subject=subject,
                                  channel=(team_id, channel_id))
                    for team, channel, who, ago, subject, html, mentioned in _CHANNEL_POSTS
                    if team == key and channel == channel_name
                ]

    def routes(self) -> list[Route]:
        return [
            _route("GET", "/me/chats", CHAT_READ, self.list_chats),
            _route("GET", "/chats", CHAT_READ, self.list_chats),
            _route("GET", "/chats/{chat}", CHAT_READ, self.get_chat),
            _route("GET", "/me/chats/{chat}", CHAT_READ, self.get_chat),
            _route("GET", "/chats/{chat}/messages", CHAT_MESSAGES_READ, self.list_chat_messages),
            _route("GET", "/me/chats/{chat}/messages", CHAT_MESSAGES_READ, self.list_chat_messages),
            _route("POST", "/chats/{chat}/messages", CHAT_MESSAGE_SEND, self.post_chat_message),
            _route("GET", "/me/joinedTeams", TEAMS_READ, self.list_joined_teams),
            _route("GET", "/teams/{team}", TEAMS_READ, self.get_team),
            _route("GET", "/teams/{team}/channels", CHANNELS_READ, self.list_channels),
            _route("GET", "/teams/{team}/channels/{channel}", CHANNELS_READ, self.get_channel),
            _route("GET", "/teams/{team}/channels/{channel}/messages", CHANNEL_MESSAGES_READ, self.list_channel_messages),
            _route("POST", "/teams/{team}/channels/{channel}/messages", CHANNEL_MESSAGE_SEND, self.post_channel_message),
        ]

    # ---- shapes ----------------------------------------------------------------------------

    def _identity(self, local: str) -> Json:
        person = self.people[local]
        return {"application": None, "device": None,
                # userIdentityType (as in the docs' examples) belongs to teamworkUserIdentity, which the
                # SDK's models know only when the object names its type
                "user": {"@odata.type": "#microsoft.graph.teamworkUserIdentity", "id": person["id"],
                         "displayName": person["displayName"], "userIdentityType": "aadUser"}}

    def _message(self, when: datetime, who: str | None, content: str, mentioned: tuple[str, ...], *,
                 chat_id: str | None = None, subject: str | None = None, channel: tuple[str, str] | None = None) -> Json:
        stamp = _iso(when)
        message_id = str(int(when.timestamp() * 1000))
        message: Json = {
            "id": message_id, "replyToId": None, "etag": message_id, "messageType": "message",
            "createdDateTime": stamp, "lastModifiedDateTime": stamp, "lastEditedDateTime": None, "deletedDateTime": None,
            "subject": subject, "summary": None, "chatId": chat_id, "importance": "normal", "locale": "en-us",
            "webUrl": None, "policyViolation": None, "eventDetail": None,
            "from": self._identity(who or "@me") if who != "@event" else None,
            "body": {"contentType": "html" if content.lstrip().startswith("<") else "text", "content": content},
            "channelIdentity": {"teamId": channel[0], "channelId": channel[1]} if channel else None,
            "attachments": [], "reactions": [], "messageHistory": [],
            "mentions": [{"id": n, "mentionText": self.people[local]["displayName"] if local != "@me" else self.api.emu.user.given_name,
                          "mentioned": self._identity(local)} for n, local in enumerate(mentioned)],
        }
        if who == "@event":  # chat-list-messages.md example 1: a system event, messageType unknownFutureValue
            message["messageType"] = "unknownFutureValue"
            message["eventDetail"] = {"@odata.type": "#microsoft.graph.membersAddedEventMessageDetail",
                                      "members": [{"id": self.people["megan"]["id"], "displayName": None,
                                                   "userIdentityType": "aadUser"}],
                                      "initiator": self._identity("alex")}
        return message

    def _member(self, local: str) -> Json:
        person = self.people[local]
        return {"@odata.type": "#microsoft.graph.aadUserConversationMember",
                "id": f"MCMember{uuid.uuid5(uuid.NAMESPACE_URL, person['id']).hex}=", "roles": ["owner"] if local == "@me" else [],
                "displayName": person["displayName"], "userId": person["id"], "email": person["mail"],
                "tenantId": self.api.emu.user.tid}

    def _chat_view(self, chat: Json, expand: set[str]) -> Json:
        view = {k: v for k, v in chat.items() if not k.startswith("_")}
        if "members" in expand:
            view["members"] = [self._member(local) for local in chat["_members"]]
        if "lastmessagepreview" in expand:
            last = self.chat_messages[chat["id"]][0]
            view["lastMessagePreview"] = {k: last[k] for k in ("id", "createdDateTime", "messageType", "eventDetail", "body", "from")}
            view["lastMessagePreview"]["isDeleted"] = False
        return view

    # ---- lookups -----------------------------------------------------------------------------

    def _personal_check(self) -> None:
        rules.work_or_school(self.api.emu.user.tid, "Microsoft Teams")

    def _chat(self, call: Call) -> Json:
        self._personal_check()
        for chat in self.chats:
            if chat["id"] == call.params["chat"]:
                return chat
        raise GraphError(404, "NotFound", f"No chat with the id '{call.params['chat']}' was found for this user.")

    def _team(self, call: Call) -> Json:
        self._personal_check()
        for team in self.teams:
            if team["id"] == call.params["team"]:
                return team
        raise GraphError(404, "NotFound", "No team found with Group Id " + call.params["team"])

    def _channel(self, call: Call) -> Json:
        team = self._team(call)
        for channel in self.channels[team["id"]]:
            if channel["id"] == call.params["channel"]:
                return channel
        raise GraphError(404, "NotFound", "Channel not found")

    def _expand(self, call: Call) -> set[str]:
        wanted = {s.strip().lower() for s in (call.option("expand") or "").split(",") if s.strip()}
        if wanted - CHAT_EXPAND:
            raise GraphError(400, "BadRequest", "$expand supports only members and lastMessagePreview (chat-list.md).")
        return wanted

    # ---- chats -------------------------------------------------------------------------------

    def list_chats(self, call: Call) -> Response:
        self._personal_check()
        _unsupported(call, CHAT_OPTIONS, "chat-list.md")
        expand = self._expand(call)
        top = _top(call, MAX_TOP)
        items = [self._chat_view(chat, expand | {"lastmessagepreview"}) for chat in self.chats]
        if (order := call.option("orderby")) is not None:
            if order.strip().lower() != "lastmessagepreview/createddatetime desc":
                raise GraphError(400, "BadRequest", "$orderby supports only lastMessagePreview/createdDateTime desc (chat-list.md).")
            items.sort(key=lambda c: c["lastMessagePreview"]["createdDateTime"], reverse=True)
        else:
            items.sort(key=lambda c: c["lastUpdatedDateTime"], reverse=True)
        if (expr := call.option("filter")) is not None:
            items = self._filtered(items, expr, "chat")
        if "lastmessagepreview" not in expand:
            items = [{k: v for k, v in item.items() if k != "lastMessagePreview"} for item in items]
        return self._page(items, call, top, "chat", "chats")

    def get_chat(self, call: Call) -> Response:
        chat = self._chat(call)
        _unsupported(call, frozenset({"expand", "select"}), "chat-get.md")
        view = self._chat_view(chat, self._expand(call))
        return self.api._entity(view, call, "chat", "chats/$entity")

    def list_chat_messages(self, call: Call) -> Response:
        chat = self._chat(call)
        _unsupported(call, MESSAGE_OPTIONS, "chat-list-messages.md")
        top = _top(call, MAX_TOP)
        prop = "lastModifiedDateTime"
        if (order := call.option("orderby")) is not None:
            name, _, direction = order.strip().partition(" ")
            prop = contract.resolve(name, "chatMessage")
            if prop not in ("lastModifiedDateTime", "createdDateTime") or direction.strip().lower() != "desc":
                raise GraphError(400, "BadRequest", "$orderby supports only lastModifiedDateTime or createdDateTime, "
                                 "in descending order (chat-list-messages.md).")
        items = sorted(self.chat_messages[chat["id"]], key=lambda m: m[prop], reverse=True)
        expr = call.option("filter")
        if expr is not None and order is not None and _filters_only(expr, prop):
            items = self._filtered(items, expr, "chatMessage")
        # else: "the $filter query option is ignored" (chat-list-messages.md)
        return self._page(items, call, top, "chatMessage", f"chats('{chat['id']}')/messages")

    def _filtered(self, items: list[Json], expr: str, type_name: str) -> list[Json]:
        from .graph import _compile_filter

        for name in contract.filter_names(expr):
            contract.resolve(name, type_name)
        keep = _compile_filter(expr)
        return [item for item in items if keep(item)]

    def _page(self, items: list[Json], call: Call, top: int, type_name: str, context: str) -> Response:
        """One page of `items` (already filtered and ordered); the next link carries $top and an opaque $skiptoken."""
        from .graph import _skiptoken_offset

        token = call.req.query.get("$skiptoken")
        skip = _skiptoken_offset(token) if token else 0
        body: Json = {"@odata.context": self.api._context(context), "value": items[skip:skip + top]}
        if skip + top < len(items):
            query = {k: v for k, v in call.req.query.items() if k not in ("$top", "top", "$skiptoken")}
            query["$top"] = str(top)
            query["$skiptoken"] = base64.urlsafe_b64encode(f"emu:{skip + top}".encode()).decode("ascii")
            body["@odata.nextLink"] = f"{self.api.emu.base_url}{call.req.path}?{urlencode(query, quote_via=quote)}"
        return self.api.typed(type_name, body)

    def post_chat_message(self, call: Call) -> Response:
        chat = self._chat(call)
        message = self._new_message(_payload(call), chat_id=chat["id"])
        self.chat_messages[chat["id"]].insert(0, message)
        chat["lastUpdatedDateTime"] = message["createdDateTime"]
        self.sent.append({"where": "chat", "id": chat["id"], "payload": _payload(call)})
        context = self.api._context(f"chats('{chat['id']}')/messages/$entity")
        return self.api.typed("chatMessage", {"@odata.context": context, **message}, 201)

    def _new_message(self, payload: Json, **where: Any) -> Json:
        known = contract.properties("chatMessage")
        for name in payload:
            if not name.startswith("@") and name not in known:
                raise contract.unknown_property(name, "chatMessage")
        body = payload.get("body")
        if not isinstance(body, dict) or not str(body.get("content") or "").strip():
            raise GraphError(400, "BadRequest", "The message body is required: { \"body\": { \"content\": … } }.")
        kind = str(body.get("contentType") or "text").lower()
        if kind not in ("text", "html"):
            raise GraphError(400, "BadRequest", f"Requested value '{body.get('contentType')}' was not found (bodyType).")
        message = self._message(datetime.now(timezone.utc), None, "", (), chat_id=where.get("chat_id"),
                                subject=payload.get("subject"), channel=where.get("channel"))
        message["id"] = message["etag"] = f"{message['id']}{secrets.randbelow(1000):03d}"
        message["body"] = {"contentType": kind, "content": str(body["content"])}
        message["importance"] = payload.get("importance") or "normal"
        return message

    # ---- teams and channels ------------------------------------------------------------------

    def list_joined_teams(self, call: Call) -> Response:
        self._personal_check()
        _unsupported(call, frozenset(), "user-list-joinedteams.md")
        # "returns only the id, displayName, and description properties"
        items = [{k: team[k] for k in ("id", "displayName", "description")} for team in self.teams]
        body = {"@odata.context": self.api._context("teams"), "value": items}  # one answer: no paging documented
        return self.api.typed("team", body)

    def get_team(self, call: Call) -> Response:
        team = self._team(call)
        return self.api._entity({k: v for k, v in team.items() if not k.startswith("_")}, call, "team", "teams/$entity")

    def list_channels(self, call: Call) -> Response:
        team = self._team(call)
        _unsupported(call, CHANNEL_OPTIONS, "channel-list.md")
        call.req.query["$top"] = str(len(self.channels[team["id"]]) or 1)  # no paging: every channel in one answer
        return self.api._collection(self.channels[team["id"]], call, "channel", f"teams('{team['id']}')/channels")

    def get_channel(self, call: Call) -> Response:
        channel = self._channel(call)
        return self.api._entity(channel, call, "channel", f"teams('{call.params['team']}')/channels/$entity")

    def list_channel_messages(self, call: Call) -> Response:
        channel = self._channel(call)
        _unsupported(call, CHANNEL_MESSAGE_OPTIONS, "channel-list-messages.md")
        if (expand := call.option("expand")) is not None and expand.strip().lower() != "replies":
            raise GraphError(400, "BadRequest", "$expand supports only replies (channel-list-messages.md).")
        top = _top(call, CHANNEL_MESSAGES_DEFAULT_TOP)
        key = (call.params["team"], channel["id"])
        items = [m for m in self.channel_messages[key] if m.get("replyToId") is None]  # "without the replies"
        items.sort(key=lambda m: m["lastModifiedDateTime"], reverse=True)
        if expand is not None:
            items = [{**m, "replies": []} for m in items]
        return self._page(items, call, top, "chatMessage", f"teams('{key[0]}')/channels('{key[1]}')/messages")

    def post_channel_message(self, call: Call) -> Response:
        channel = self._channel(call)
        key = (call.params["team"], channel["id"])
        message = self._new_message(_payload(call), channel=key)
        message["webUrl"] = f"https://teams.microsoft.com/l/message/{channel['id']}/{message['id']}?groupId={key[0]}"
        self.channel_messages[key].insert(0, message)
        self.sent.append({"where": "channel", "id": channel["id"], "team": key[0], "payload": _payload(call)})
        context = self.api._context(f"teams('{key[0]}')/channels('{key[1]}')/messages/$entity")
        return self.api.typed("chatMessage", {"@odata.context": context, **message}, 201)


def _filters_only(expr: str, prop: str) -> bool:
    """chat-list-messages.md: gt/lt on lastModifiedDateTime, lt on createdDateTime; else a 400."""
    names = {n.lower() for n in contract.filter_names(expr)}
    if names != {prop.lower()}:
        return False
    allowed = ("gt", "lt") if prop == "lastModifiedDateTime" else ("lt",)
    ops = {w.lower() for w in expr.split() if w.lower() in ("eq", "ne", "gt", "ge", "lt", "le")}
    if not ops <= set(allowed):
        raise GraphError(400, "BadRequest", f"$filter on {prop} supports only {' and '.join(allowed)} (chat-list-messages.md).")
    return True
