"""Graph mail organising for the emulator: drafts, send, forward, move, update, attachments.

Each handler follows its Microsoft page (microsoft-graph-docs-contrib, api-reference/v1.0/api/):
- user-post-messages.md: POST /me/messages creates a draft (201, the message, isDraft true, in Drafts).
- message-createreply.md / message-createreplyall.md / message-createforward.md: 201 with a draft;
  body {"comment", "message"}; createForward needs toRecipients (in the body or the message).
- message-send.md: POST /me/messages/{id}/send, 202, no body; the draft moves to Sent Items.
- message-forward.md: {"comment", "toRecipients"} (or "message"), 202.
- message-move.md: {"destinationId"}, 201 with the moved message, which has a NEW id.
- message-update.md: PATCH with writable properties only; 200 with the message.
- message-post-attachments.md: a fileAttachment under 3 MB, 201.
- attachment-createuploadsession.md: {"AttachmentItem": {attachmentType, name, size}}, 3 MB to 150 MB,
  201 uploadSession {uploadUrl, expirationDateTime, nextExpectedRanges}; PUT ranges of at most 4 MB in
  order to the uploadUrl (no Authorization header); the last PUT answers 201.
Property names are msgraph-sdk's (msgraph.generated.models.message.Message and friends).
"""

from __future__ import annotations

import base64
import copy
import re
import secrets
import uuid
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from . import data
from .graph import MAIL_SEND, Call, GraphError, Route, _route
from .web import Request, Response

if TYPE_CHECKING:
    from .graph import GraphApi

Json = dict[str, Any]

MAIL_READ_WRITE = ("Mail.ReadWrite",)
SIMPLE_LIMIT = 3 * 1024 * 1024
SESSION_LIMIT = 150 * 1024 * 1024
RANGE_LIMIT = 4 * 1024 * 1024
# message-update.md: the properties a PATCH may change (everything else is read-only there).
WRITABLE = frozenset({
    "bccRecipients", "body", "categories", "ccRecipients", "flag", "from", "importance",
    "inferenceClassification", "internetMessageId", "isDeliveryReceiptRequested", "isRead",
    "isReadReceiptRequested", "multiValueExtendedProperties", "replyTo", "sender",
    "singleValueExtendedProperties", "subject", "toRecipients",
})
FLAG_STATUSES = ("notFlagged", "complete", "flagged")  # followupFlagStatus
IMPORTANCE = ("low", "normal", "high")


def _message_properties() -> frozenset[str]:
    from msgraph.generated.models.message import Message

    return frozenset(Message().get_field_deserializers())


def _payload(call: Call) -> Json:
    try:
        payload = call.req.json() if call.req.body else {}
    except ValueError:
        raise GraphError(400, "BadRequest", "Unable to read JSON request payload. Please ensure "
                         "Content-Type header is set and payload is of valid JSON format.") from None
    if not isinstance(payload, dict):
        raise GraphError(400, "BadRequest", "The request payload must be a JSON object.")
    return payload


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class MailOrganiseApi:
    def __init__(self, api: GraphApi) -> None:
        self.api = api
        self.sent: list[Json] = []  # drafts sent and forwards: {"action", "messageId", "payload"}
        self.sessions: dict[str, Json] = {}
        self._properties: frozenset[str] | None = None

    def routes(self) -> list[Route]:
        return [
            _route("POST", "/me/messages", MAIL_READ_WRITE, self.create_message),
            _route("PATCH", "/me/messages/{id}", MAIL_READ_WRITE, self.update_message),
            _route("POST", "/me/messages/{id}/createReply", MAIL_READ_WRITE, lambda c: self.create_response(c, "reply")),
            _route("POST", "/me/messages/{id}/createReplyAll", MAIL_READ_WRITE, lambda c: self.create_response(c, "replyAll")),
            _route("POST", "/me/messages/{id}/createForward", MAIL_READ_WRITE, lambda c: self.create_response(c, "forward")),
            _route("POST", "/me/messages/{id}/send", MAIL_SEND, self.send_draft),
            _route("POST", "/me/messages/{id}/forward", MAIL_SEND, self.forward),
            _route("POST", "/me/messages/{id}/move", MAIL_READ_WRITE, self.move),
            _route("POST", "/me/messages/{id}/attachments", MAIL_READ_WRITE, self.add_attachment),
            _route("POST", "/me/messages/{id}/attachments/createUploadSession", MAIL_READ_WRITE, self.create_upload_session),
        ]

    # ---- helpers ---------------------------------------------------------------------

    def _check_names(self, message: Json) -> None:
        if self._properties is None:
            self._properties = _message_properties()
        unknown = [k for k in message if not k.startswith("@") and k not in self._properties]
        if unknown:
            raise GraphError(400, "RequestBroker--ParseUri",
                             f"Could not find a property named '{unknown[0]}' on type 'microsoft.graph.message'.")

    def _entity(self, message: Json, status: int = 200) -> Response:
        context = f"{self.api.emu.graph_url}/$metadata#users('{self.api.emu.user.oid}')/messages/$entity"
        return self.api.typed("message", {"@odata.context": context, **message}, status)

    def _new_draft(self, fields: Json) -> Json:
        me = {"emailAddress": {"name": self.api.emu.user.name, "address": self.api.emu.user.email}}
        msg_id = data._outlook_id("draft", uuid.uuid4().hex)
        body = fields.get("body") or {"contentType": "text", "content": ""}
        message = {
            "@odata.etag": f'W/"CQAAABYAAADEmu{secrets.token_hex(2)}"',
            "id": msg_id, "createdDateTime": _now(), "lastModifiedDateTime": _now(),
            "receivedDateTime": _now(), "sentDateTime": None, "hasAttachments": False,
            "internetMessageId": f"<{uuid.uuid4().hex}@{self.api.emu.user.domain}>",
            "subject": fields.get("subject", ""), "bodyPreview": str(body.get("content") or "")[:255],
            "importance": fields.get("importance", "normal"), "parentFolderId": "drafts",
            "conversationId": fields.get("conversationId") or data._outlook_id("conversation", msg_id),
            "isRead": True, "isDraft": True,
            "webLink": f"https://outlook.office365.com/owa/?ItemID={quote(msg_id, safe='')}&exvsurl=1&viewmodel=ReadMessageItem",
            "body": body, "sender": me, "from": me,
            "toRecipients": fields.get("toRecipients", []), "ccRecipients": fields.get("ccRecipients", []),
            "bccRecipients": fields.get("bccRecipients", []), "replyTo": [], "categories": [],
            "flag": {"flagStatus": "notFlagged"},
        }
        self.api.messages.insert(0, message)
        self.api.mail.attachments[msg_id] = []
        return message

    # ---- handlers --------------------------------------------------------------------

    def create_message(self, call: Call) -> Response:
        payload = _payload(call)
        self._check_names(payload)
        return self._entity(self._new_draft(payload), 201)

    def create_response(self, call: Call, action: str) -> Response:
        original = self.api.mail._message(call.params["id"])
        payload = _payload(call)
        extra = payload.get("message") or {}
        if not isinstance(extra, dict):
            raise GraphError(400, "ErrorInvalidParameter", "The value of the parameter 'Message' is not valid.")
        self._check_names(extra)
        prefix = {"reply": "RE: ", "replyAll": "RE: ", "forward": "FW: "}[action]
        fields: Json = {"subject": prefix + str(original.get("subject") or ""),
                        "conversationId": original.get("conversationId")}
        if action != "forward":
            me = self.api.emu.user.email.lower()
            to = original.get("replyTo") or [original["from"]]
            if action == "replyAll":
                to = to + [p for p in original.get("toRecipients", []) if p["emailAddress"]["address"].lower() != me]
                fields["ccRecipients"] = [p for p in original.get("ccRecipients", [])
                                          if p["emailAddress"]["address"].lower() != me]
            fields["toRecipients"] = copy.deepcopy(to)
        fields.update({k: v for k, v in extra.items() if k != "subject"})
        comment = str(payload.get("comment") or "")
        fields["body"] = {"contentType": "text", "content": comment + "\n\n" + str(original.get("bodyPreview") or "")}
        draft = self._new_draft(fields)
        if action == "forward":  # a forward draft carries the original's attachments
            self.api.mail.attachments[draft["id"]] = copy.deepcopy(self.api.mail.attachments.get(original["id"], []))
            draft["hasAttachments"] = bool(self.api.mail.attachments[draft["id"]])
        return self._entity(draft, 201)

    def send_draft(self, call: Call) -> Response:
        message = self.api.mail._message(call.params["id"])
        if not message.get("isDraft"):
            raise GraphError(400, "ErrorInvalidOperation", "Only a draft can be sent.")
        if not any(message.get(k) for k in ("toRecipients", "ccRecipients", "bccRecipients")):
            raise GraphError(400, "ErrorInvalidRecipients", "At least one recipient isn't valid., A message "
                             "can't be sent because it contains no recipients.")
        message.update({"isDraft": False, "parentFolderId": "sentitems", "sentDateTime": _now()})
        self.sent.append({"action": "send", "messageId": message["id"], "payload": copy.deepcopy(message)})
        return Response(202, b"", None)

    def forward(self, call: Call) -> Response:
        message = self.api.mail._message(call.params["id"])
        payload = _payload(call)
        to = payload.get("toRecipients") or (payload.get("message") or {}).get("toRecipients")
        if not to:
            raise GraphError(400, "ErrorInvalidRecipients", "At least one recipient isn't valid., A message "
                             "can't be sent because it contains no recipients.")
        self.sent.append({"action": "forward", "messageId": message["id"], "payload": payload})
        return Response(202, b"", None)

    def move(self, call: Call) -> Response:
        message = self.api.mail._message(call.params["id"])
        destination = _payload(call).get("destinationId")
        if not isinstance(destination, str) or not destination:
            raise GraphError(400, "ErrorInvalidParameter", "The value of the parameter 'DestinationId' is empty.")
        folder = self.api._folder(destination)
        new_id = data._outlook_id("moved", message["id"] + folder["id"])
        self.api.mail.attachments[new_id] = self.api.mail.attachments.pop(message["id"], [])
        message.update({"id": new_id, "parentFolderId": folder["id"], "lastModifiedDateTime": _now()})
        return self._entity(message, 201)

    def update_message(self, call: Call) -> Response:
        message = self.api.mail._message(call.params["id"])
        changes = _payload(call)
        self._check_names(changes)
        read_only = [k for k in changes if k not in WRITABLE]
        if read_only:
            raise GraphError(400, "ErrorInvalidPropertyUpdateSentMessage" if not message.get("isDraft") else
                             "ErrorInvalidProperty", f"The property '{read_only[0]}' cannot be updated.")
        flag = changes.get("flag")
        if flag is not None and (not isinstance(flag, dict) or flag.get("flagStatus") not in FLAG_STATUSES):
            raise GraphError(400, "ErrorInvalidRequest", "flagStatus must be notFlagged, complete or flagged.")
        if "importance" in changes and changes["importance"] not in IMPORTANCE:
            raise GraphError(400, "ErrorInvalidRequest", "importance must be low, normal or high.")
        message.update(copy.deepcopy(changes))
        message["lastModifiedDateTime"] = _now()
        return self._entity(message)

    def add_attachment(self, call: Call) -> Response:
        message = self.api.mail._message(call.params["id"])
        payload = _payload(call)
        if payload.get("@odata.type") != "#microsoft.graph.fileAttachment":
            raise GraphError(400, "ErrorInvalidParameter", "Only a #microsoft.graph.fileAttachment is supported here.")
        try:
            content = base64.b64decode(str(payload.get("contentBytes") or ""), validate=True)
        except ValueError:
            raise GraphError(400, "ErrorInvalidParameter", "contentBytes is not valid base64.") from None
        if len(content) >= SIMPLE_LIMIT:
            raise GraphError(413, "ErrorRequestEntityTooLarge", "Attachments of 3 MB or more need an upload session.")
        item = self._store(message, str(payload.get("name") or "attachment"),
                           str(payload.get("contentType") or "application/octet-stream"), content)
        context = f"{self.api.emu.graph_url}/$metadata#users('{self.api.emu.user.oid}')/messages('{message['id']}')/attachments/$entity"
        return self.api.typed("attachment", {"@odata.context": context, **item}, 201)

    def _store(self, message: Json, name: str, content_type: str, content: bytes) -> Json:
        item = {
            "@odata.type": "#microsoft.graph.fileAttachment", "@odata.mediaContentType": content_type,
            "id": message["id"][:-4] + "BEmu" + secrets.token_urlsafe(18) + "=", "lastModifiedDateTime": _now(),
            "name": name, "contentType": content_type, "size": len(content) + 300, "isInline": False,
            "contentId": None, "contentLocation": None, "contentBytes": base64.b64encode(content).decode("ascii"),
        }
        self.api.mail.attachments.setdefault(message["id"], []).append(item)
        message["hasAttachments"] = True
        return item

    def create_upload_session(self, call: Call) -> Response:
        message = self.api.mail._message(call.params["id"])
        spec = _payload(call).get("AttachmentItem")
        if not isinstance(spec, dict) or spec.get("attachmentType") != "file" or not spec.get("name"):
            raise GraphError(400, "ErrorInvalidParameter", "AttachmentItem needs attachmentType 'file', a name and a size.")
        size = spec.get("size")
        if not isinstance(size, int) or not 0 < size <= SESSION_LIMIT:
            raise GraphError(400, "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize" if isinstance(size, int) and size <= 0
                             else "ErrorAttachmentSizeLimitExceeded", "The attachment size must be 1 byte to 150 MB.")
        session_id, secret = uuid.uuid4().hex, secrets.token_urlsafe(24)
        expires = datetime.now(timezone.utc) + timedelta(minutes=15)
        self.sessions[session_id] = {"secret": secret, "message": message["id"], "name": spec["name"], "size": size,
                                     "contentType": spec.get("contentType") or "application/octet-stream",
                                     "received": bytearray()}
        return self.api.typed("uploadSession", {
            "@odata.context": f"{self.api.emu.graph_url}/$metadata#microsoft.graph.uploadSession",
            "uploadUrl": f"{self.api.emu.base_url}/_outlook/attachmentSessions/{session_id}?authtoken={secret}",
            "expirationDateTime": data.iso(expires),
            "nextExpectedRanges": ["0-"],
        }, 201)

    def handle_pre_authenticated(self, req: Request) -> Response:
        """PUT / DELETE on an attachment upload URL: its own authtoken, never a bearer token."""
        session_id = req.path.rstrip("/").rsplit("/", 1)[-1]
        session = self.sessions.get(session_id)
        try:
            if session is None or req.query.get("authtoken") != session["secret"]:
                raise GraphError(404, "ErrorItemNotFound", "The upload session was not found or has expired.")
            if req.headers.get("authorization"):
                raise GraphError(401, "InvalidAuthenticationToken", "Authorization header is not allowed on the upload URL.")
            if req.method == "DELETE":
                self.sessions.pop(session_id, None)
                return Response(204, b"", None)
            if req.method != "PUT":
                raise GraphError(405, "ErrorInvalidRequest", "Only PUT and DELETE are allowed on an upload URL.")
            match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", req.headers.get("content-range", "").strip())
            if not match:
                raise GraphError(400, "ErrorInvalidRequest", "A Content-Range header is required.")
            start, end, total = (int(g) for g in match.groups())
            if total != session["size"] or start != len(session["received"]) or len(req.body) != end - start + 1:
                raise GraphError(416, "ErrorInvalidRange", f"Expected bytes from {len(session['received'])} of {session['size']}.")
            if len(req.body) > RANGE_LIMIT:
                raise GraphError(413, "ErrorRequestEntityTooLarge", "A range may hold at most 4 MB.")
            session["received"] += req.body
            if end + 1 < total:
                return self.api.typed("uploadSession", {"expirationDateTime": data.iso(datetime.now(timezone.utc) + timedelta(minutes=15)),
                                                        "nextExpectedRanges": [f"{end + 1}-"]})
            self.sessions.pop(session_id, None)
            message = self.api.mail._message(session["message"])
            item = self._store(message, session["name"], session["contentType"], bytes(session["received"]))
            location = (f"{self.api.emu.graph_url}/users('{self.api.emu.user.oid}')/messages('{message['id']}')"
                        f"/attachments('{item['id']}')")
            return Response(201, b"", None, {"Location": location})
        except GraphError as exc:
            return Response.of_json({"error": {"code": exc.code, "message": exc.message}}, exc.status, exc.headers)
