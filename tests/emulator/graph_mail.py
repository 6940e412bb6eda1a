"""Graph mail beyond graph.py: attachments (list, get, $value), reply / replyAll, child folders.

Seeded attachments belong to the seeded messages that say `hasAttachments`;
their bytes are deterministic, so a test can compare a download with
`emu.graph.mail.attachment_bytes(message_id, attachment_id)`.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .graph import GRAPH_JSON, MAIL_SEND, Call, GraphError, Route, _route, _select
from .web import Response

if TYPE_CHECKING:
    from .graph import GraphApi

Json = dict[str, Any]

# Mail.ReadBasic does not reach attachments.
MAIL_READ_FULL = ("Mail.Read", "Mail.ReadWrite")
FILE_ATTACHMENT = "#microsoft.graph.fileAttachment"

# subject of a seeded message -> (file name, content type, size in bytes, inline)
_ATTACHMENTS: dict[str, list[tuple[str, str, int, bool]]] = {
    "Q3 planning: agenda for Thursday": [("Q3 planning agenda.txt", "text/plain", 1_536, False)],
    "Updated travel policy": [("Travel policy.pdf", "application/pdf", 96_410, False)],
    "Budget variance for August": [
        ("Budget variance August.xlsx",
         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 41_877, False),
    ],
    "Brand guidelines v2 (final)": [
        ("Brand guidelines v2.pdf", "application/pdf", 240_118, False),
        ("logo.png", "image/png", 4_096, True),
    ],
    "Offsite venue options": [("Venue options.pdf", "application/pdf", 57_300, False)],
    "Team photo from the offsite": [("Team photo.jpg", "image/jpeg", 310_552, False)],
    "Draft: press release for Falcon": [
        ("Falcon press release (draft).docx",
         "application/vnd.openxmlformats-officedocument.wordprocessingml.document", 22_519, False),
    ],
}


def _content(name: str, size: int) -> bytes:
    if name.endswith(".txt"):
        line = f"{name}: agenda item, owner, minutes.\n".encode()
        return (line * (size // len(line) + 1))[:size]
    block = hashlib.sha256(name.encode()).digest()
    return (block * (size // len(block) + 1))[:size]


def seed_attachments(messages: list[Json]) -> dict[str, list[Json]]:
    """message id -> its attachments, as Graph returns them without $select (contentBytes included)."""
    out: dict[str, list[Json]] = {}
    for message in messages:
        if not message.get("hasAttachments"):
            continue
        specs = _ATTACHMENTS.get(message["subject"], [("attachment.txt", "text/plain", 512, False)])
        received = datetime.fromisoformat(message["receivedDateTime"].replace("Z", "+00:00"))
        items = []
        for n, (name, content_type, size, inline) in enumerate(specs):
            data = _content(name, size)
            key = hashlib.sha256(f"{message['id']}:{n}".encode()).digest()[:24]
            items.append({
                "@odata.type": FILE_ATTACHMENT,
                "@odata.mediaContentType": content_type,
                "id": message["id"][:-4] + "BEmu" + base64.urlsafe_b64encode(key).decode("ascii") + "=",
                "lastModifiedDateTime": (received - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "name": name,
                "contentType": content_type,
                "size": size + 300,  # Graph's size counts the attachment's metadata too
                "isInline": inline,
                "contentId": f"{name}@emu" if inline else None,
                "contentLocation": None,
                "contentBytes": base64.b64encode(data).decode("ascii"),
            })
        out[message["id"]] = items
    return out


def seed_chats(messages: list[Json]) -> list[Json]:
    """Teams chats that GET /me/messages also returns (Graph known issue): subject "IM", a hidden folder."""
    chats = []
    for n, (source, text) in enumerate(zip(messages[1::6], ("Are you joining the Fabrikam call?", "lunch at 12?"))):
        sender = source["from"]
        chats.append({**{k: source[k] for k in ("createdDateTime", "lastModifiedDateTime", "sentDateTime", "toRecipients",
                                                "ccRecipients", "bccRecipients", "replyTo", "flag")},
                      "@odata.etag": f'W/"CQAAABYAAADEmuChat{n}"', "id": f"AAMkAGEmuTeamsChat{n:04d}AAA=",
                      "receivedDateTime": source["receivedDateTime"], "hasAttachments": False,
                      "internetMessageId": f"<teamschat{n}@emu>", "subject": "IM", "bodyPreview": text,
                      "importance": "normal", "parentFolderId": "TeamsMessagesData", "conversationId": f"emu-chat-{n}",
                      "isRead": True, "isDraft": False, "webLink": "", "sender": sender, "from": sender,
                      "body": {"contentType": "html", "content": f"<div>{text}</div>"}})
    return chats


class MailApi:
    def __init__(self, api: GraphApi) -> None:
        self.api = api
        self.attachments = seed_attachments(api.messages)
        self.chats = seed_chats(api.messages)  # in /me/messages only, never in a listed folder
        self.replies: list[Json] = []  # {"messageId", "action": "reply"|"replyAll", "comment", "payload"}

    def routes(self) -> list[Route]:
        return [
            _route("GET", "/me/messages/{id}/attachments", MAIL_READ_FULL, self.list_attachments),
            _route("GET", "/me/messages/{id}/attachments/{attachment}", MAIL_READ_FULL, self.get_attachment),
            _route("GET", "/me/messages/{id}/attachments/{attachment}/$value", MAIL_READ_FULL, self.attachment_value),
            _route("GET", "/me/mailFolders/{id}/childFolders", MAIL_READ_FULL + ("Mail.ReadBasic",),
                   self.list_child_folders),
            _route("POST", "/me/messages/{id}/reply", MAIL_SEND, lambda call: self.reply(call, "reply")),
            _route("POST", "/me/messages/{id}/replyAll", MAIL_SEND, lambda call: self.reply(call, "replyAll")),
        ]

    # ---- what tests read ---------------------------------------------------------

    def attachment_bytes(self, message_id: str, attachment_id: str) -> bytes:
        return base64.b64decode(self._attachment(message_id, attachment_id)["contentBytes"])

    # ---- handlers ------------------------------------------------------------------

    def _message(self, message_id: str) -> Json:
        for message in self.api.messages:
            if message["id"] == message_id:
                return message
        raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")

    def _attachment(self, message_id: str, attachment_id: str) -> Json:
        self._message(message_id)
        for item in self.attachments.get(message_id, []):
            if item["id"] == attachment_id:
                return item
        raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")

    @staticmethod
    def _selected(items: list[Json], call: Call) -> list[Json]:
        # Graph names the derived type of every attachment, whatever $select says.
        chosen = _select(items, call.option("select"), "attachment")
        return [{"@odata.type": item["@odata.type"], **picked} for item, picked in zip(items, chosen)]

    def list_attachments(self, call: Call) -> Response:
        message = self._message(call.params["id"])
        items = self._selected(self.attachments.get(message["id"], []), call)
        context = f"{self.api.emu.graph_url}/$metadata#users('{self.api.emu.user.oid}')/messages('{message['id']}')/attachments"
        return self.api.typed("attachment", {"@odata.context": context, "value": items})

    def get_attachment(self, call: Call) -> Response:
        item = self._selected([self._attachment(call.params["id"], call.params["attachment"])], call)[0]
        context = f"{self.api.emu.graph_url}/$metadata#users('{self.api.emu.user.oid}')/messages('{call.params['id']}')/attachments/$entity"
        return self.api.typed("attachment", {"@odata.context": context, **item})

    def attachment_value(self, call: Call) -> Response:
        item = self._attachment(call.params["id"], call.params["attachment"])
        return Response(200, base64.b64decode(item["contentBytes"]), item["contentType"])

    def list_child_folders(self, call: Call) -> Response:
        parent = self.api._folder(call.params["id"])
        children = [f for f in self.api.folders if f["parentFolderId"] == parent["id"]]
        return self.api._collection(children, call, "mailFolder",
                                    f"users('{self.api.emu.user.oid}')/mailFolders('{parent['id']}')/childFolders")

    def reply(self, call: Call, action: str) -> Response:
        message = self._message(call.params["id"])
        try:
            payload = call.req.json() if call.req.body else {}
        except ValueError:
            raise GraphError(400, "BadRequest", "Unable to read JSON request payload. Please ensure "
                             "Content-Type header is set and payload is of valid JSON format.") from None
        if not isinstance(payload, dict) or not (payload.get("comment") or payload.get("message")):
            raise GraphError(400, "ErrorInvalidParameter", "The reply needs a comment or a message.")
        self.replies.append({"messageId": message["id"], "action": action,
                             "comment": payload.get("comment"), "payload": payload})
        return Response(202, b"", None)
