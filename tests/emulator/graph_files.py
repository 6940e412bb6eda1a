"""OneDrive beyond listing: file bytes, search, downloads and uploads, for the emulator.

- Seeded files get content: a few text files (added here) have real text; every other
  file has deterministic bytes of its size, starting with its format's signature.
- GET .../content answers 302 to a pre-authenticated URL (/_files/download/<id>?tempauth=...),
  as Graph does ("Download driveItem content": 302 Found to the item's
  `@microsoft.graph.downloadUrl`, which needs no Authorization); that URL honours `Range`, and
  GET of a file item carries it as `@microsoft.graph.downloadUrl`.
- Big files (over BIG_FILE bytes, e.g. from the `add-file` control) have generated content that
  is streamed as it is produced, and big uploads keep only a SHA-256 of what they received, so
  the emulator holds no copy of either.
- PUT .../content is the simple upload (at most 4 MiB), with
  ?@microsoft.graph.conflictBehavior=fail|replace|rename (default replace, like Graph).
- POST .../createUploadSession returns an uploadUrl (/_files/upload/<session>?tempauth=...)
  that takes fragments in order with Content-Range, refuses an Authorization header (401),
  wants non-final fragments in multiples of 320 KiB, and commits on the last byte.
Missing parent folders are created, as OneDrive does for uploads by path.
"""

from __future__ import annotations

import hashlib
import mimetypes
import random
import re
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from . import data
from .graph import FILES_READ, GRAPH_JSON, Call, GraphError, Route, _drive_path, _route
from .web import Request, Response

if TYPE_CHECKING:
    from .graph import GraphApi

Json = dict[str, Any]

FILES_WRITE = ("Files.ReadWrite", "Files.ReadWrite.All", "Sites.ReadWrite.All")
SIMPLE_UPLOAD_LIMIT = 4 * 1024 * 1024
FRAGMENT_UNIT = 320 * 1024
MAX_FRAGMENT = 60 * 1024 * 1024
BIG_FILE = 16 * 1024 * 1024  # above this, content is generated on the fly and uploads are hashed
_BLOCK = 1024 * 1024
SESSION_LIFETIME = timedelta(minutes=15)

_NOTES = (
    "Notes\n=====\n\n"
    "- Falcon launch: legal sign-off still pending; Alex owns rows 12-18 of the checklist.\n"
    "- Fabrikam escalation: firmware patch ships Thursday after QA.\n"
    "- Budget: August 3.2% over, mostly contractor spend on Falcon.\n"
    "- Offsite: lakeside venue has the best breakout rooms.\n"
    "- Hiring: two engineer job descriptions this week.\n\n"
)
# (folder path, name, text) added to the seeded drive.
_TEXT_FILES = [
    ("/Documents", "Meeting notes.md", (
     "# Design review: Project Falcon\n\n## Decisions\n\n- Ship the new onboarding flow behind a flag.\n"
     "- Simplify the permissions screen before beta.\n\n## Action items\n\n| Owner | Item |\n|---|---|\n"
     "| Alex | error-state copy |\n| Megan | beta invite list |\n")),
    ("/Documents", "Team wiki.html", (
     "<html><head><title>Team wiki</title><style>p{color:red}</style></head><body><h1>Team wiki</h1>"
     "<p>Welcome to the <b>platform team</b>. Our on-call rota lives in the "
     "<a href=\"https://contoso.example/oncall\">on-call tool</a>.</p><ul><li>Standup 09:00</li>"
     "<li>Retro every other Friday</li></ul></body></html>")),
    ("/Projects", "Falcon budget.csv",
     "month,planned,actual\nJune,120000,118400\nJuly,125000,127900\nAugust,130000,134160\n"),
    ("/Projects", "settings.json", '{\n  "project": "Falcon",\n  "region": "westeurope",\n  "replicas": 3\n}\n'),
    ("/Documents", "Server log.txt",
     "".join(f"2026-11-{1 + n % 28:02d}T{n % 24:02d}:00:00Z INFO request {n} served in {n % 97} ms\n"
             for n in range(6000))),
]
_SIGNATURES = {
    ".docx": b"PK\x03\x04", ".xlsx": b"PK\x03\x04", ".pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
    ".jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
}


@dataclass
class UploadSession:
    id: str
    secret: str
    path: str  # "/Folder/name.ext"
    conflict: str
    expires: datetime
    total: int | None = None
    received: bytearray = field(default_factory=bytearray)
    offset: int = 0  # bytes received so far
    digest: Any = None  # SHA-256 of the bytes received, for big uploads (their bytes are not kept)


class DriveStore:
    """File bytes and upload sessions on top of GraphApi.drive_items."""

    def __init__(self, api: GraphApi) -> None:
        self.api = api
        self.emu = api.emu
        self.contents: dict[str, bytes] = {}
        self.digests: dict[str, str] = {}  # item id -> SHA-256 of a big upload
        self._blocks: dict[str, bytes] = {}
        self.sessions: dict[str, UploadSession] = {}
        self._lock = threading.RLock()
        self._secret = secrets.token_urlsafe(16)
        notes = self._by_path("/Notes.txt")
        if notes is not None:
            text = _NOTES.encode("utf-8")
            size = int(notes["size"])
            self.contents[notes["id"]] = (text * (size // len(text) + 1))[:size]
        for folder, name, text in _TEXT_FILES:
            self._store(f"{folder}/{name}", text.encode("utf-8"), "replace")

    def _in_drive(self, call: Call, handler: Any) -> Response:
        """Serve an item addressed through its drive only when it lives in that drive."""
        item = next((i for i in self.api.drive_items if i["id"] == call.params["id"]), None)
        if item is None or item["parentReference"].get("driveId") != call.params["drive"]:
            raise GraphError(404, "itemNotFound", "The resource could not be found.")
        return handler(call)

    def routes(self) -> list[Route]:
        return [
            _route("GET", "/me/drive/root/search(q={path})", FILES_READ, self.search),
            _route("GET", "/me/drive/items/{id}/content", FILES_READ, self.content),
            # A search hit's drive: /drives/{drive-id}/items/{item-id} (Graph docs, *Get driveItem*).
            _route("GET", "/drives/{drive}/items/{id}/content", FILES_READ, lambda call: self._in_drive(call, self.content)),
            _route("GET", "/drives/{drive}/items/{id}", FILES_READ,
                   lambda call: self._in_drive(call, self.api.get_drive_item)),
            _route("GET", "/me/drive/root:/{path}:/content", FILES_READ, self.content),
            _route("PUT", "/me/drive/root:/{path}:/content", FILES_WRITE, self.put_content),
            _route("POST", "/me/drive/root:/{path}:/createUploadSession", FILES_WRITE, self.create_upload_session),
        ]

    # ---- content --------------------------------------------------------------------------

    def content_of(self, item: Json) -> bytes:
        if item["id"] in self.contents:
            return self.contents[item["id"]]
        size = int(item.get("size") or 0)
        if size > BIG_FILE:
            return b"".join(self.chunks_of(item, 0, size - 1))
        signature = _SIGNATURES.get(item["name"][item["name"].rfind("."):].lower(), b"\x00")
        body = random.Random(item["id"]).randbytes(max(0, size - len(signature)))
        return (signature + body)[:size]

    def chunks_of(self, item: Json, start: int, end: int) -> Any:
        """Bytes start..end (inclusive) of an item, produced block by block for a big file."""
        size = int(item.get("size") or 0)
        if item["id"] in self.contents or size <= BIG_FILE:
            yield self.content_of(item)[start:end + 1]
            return
        block = self._blocks.get(item["id"])
        if block is None:  # the signature, then one pseudo-random block repeated
            signature = _SIGNATURES.get(item["name"][item["name"].rfind("."):].lower(), b"\x00")
            block = self._blocks[item["id"]] = signature + random.Random(item["id"]).randbytes(_BLOCK - len(signature))
        position = start
        while position <= end:
            offset = position % _BLOCK
            piece = block[offset:min(_BLOCK, offset + end + 1 - position)]
            yield piece
            position += len(piece)

    def add_generated_file(self, path: str, size: int) -> Json:
        """A file of `size` generated bytes at `path` (for benchmarks): nothing is stored."""
        item, _ = self._store("/" + path.strip("/"), b"", "replace")
        self.contents.pop(item["id"], None)
        self._grow(item, size)
        return item

    def download_url(self, item: Json) -> str:
        return f"{self.emu.base_url}/_files/download/{item['id']}?tempauth={self._download_token(item['id'])}"

    def text_of(self, item: Json) -> str:
        """What search can see inside a file: text files only."""
        raw = self.contents.get(item["id"])
        if raw is None or b"\x00" in raw[:1024]:
            return ""
        return raw.decode("utf-8", "ignore")

    def _download_token(self, item_id: str) -> str:
        return hashlib.sha256(f"{self._secret}:{item_id}".encode()).hexdigest()[:32]

    def content(self, call: Call) -> Response:
        item = self.api._drive_item(call)
        if "folder" in item:
            raise GraphError(400, "invalidRequest", "Cannot download the content of a folder.")
        return Response(302, b"", None, {"Location": self.download_url(item)})

    def search(self, call: Call) -> Response:
        raw = call.params["path"].strip()  # already percent-decoded
        if len(raw) < 2 or raw[0] != "'" or raw[-1] != "'":
            raise GraphError(400, "invalidRequest", "Invalid search query: q must be a quoted string.")
        words = [w for w in raw[1:-1].replace("''", "'").lower().split() if w]
        found = [
            item for item in self.api.drive_items[1:]
            if all(w in (item["name"] + " " + self.text_of(item)).lower() for w in words)
        ]
        # Graph docs, *Search for files* (driveItem-search): on OneDrive for Business and SharePoint
        # the results' parentReference carries no `path` (the shared notes' measured fact; the
        # tools resolve a parent by id instead).
        found = [
            {**item, "parentReference": {k: v for k, v in item["parentReference"].items() if k != "path"}}
            for item in found
        ]
        return self.api._collection(found, call, "driveItem", f"users('{self.emu.user.oid}')/drive/root/search")

    # ---- simple upload ---------------------------------------------------------------------

    def put_content(self, call: Call) -> Response:
        if len(call.req.body) > SIMPLE_UPLOAD_LIMIT:
            raise GraphError(413, "requestTooLarge", "The request is too large for a simple upload; use an upload session.")
        conflict = call.req.query.get("@microsoft.graph.conflictBehavior", "replace")
        item, created = self._store("/" + call.params["path"].strip("/"), call.req.body, conflict)
        return self._item_response(item, 201 if created else 200)

    # ---- upload sessions -------------------------------------------------------------------

    def create_upload_session(self, call: Call) -> Response:
        try:
            payload = call.req.json() if call.req.body else {}
        except ValueError:
            raise GraphError(400, "invalidRequest", "Unable to read JSON request payload.") from None
        item = (payload or {}).get("item") or {}
        conflict = str(item.get("@microsoft.graph.conflictBehavior") or "replace")
        path = "/" + call.params["path"].strip("/")
        if conflict not in ("fail", "replace", "rename"):
            raise GraphError(400, "invalidRequest", f"Invalid conflict behavior '{conflict}'.")
        if conflict == "fail" and self._by_path(path) is not None:
            raise GraphError(409, "nameAlreadyExists", "The specified item name already exists.")
        session = UploadSession(uuid.uuid4().hex, secrets.token_urlsafe(24), path, conflict,
                                datetime.now(timezone.utc) + SESSION_LIFETIME)
        with self._lock:
            self.sessions[session.id] = session
        return self.api.typed("uploadSession", {
            "@odata.context": f"{self.emu.graph_url}/$metadata#microsoft.graph.uploadSession",
            "uploadUrl": f"{self.emu.base_url}/_files/upload/{session.id}?tempauth={session.secret}",
            "expirationDateTime": data.iso(session.expires),
            "nextExpectedRanges": ["0-"],
        })

    def handle_pre_authenticated(self, req: Request) -> Response:
        """/_files/download/<id> and /_files/upload/<session>: no bearer token, a tempauth instead."""
        parts = req.path.strip("/").split("/")
        try:
            if len(parts) == 3 and parts[1] == "download" and req.method == "GET":
                self.emu.count("files download")
                return self._download(parts[2], req)
            if len(parts) == 3 and parts[1] == "upload":
                self.emu.count(f"files upload {req.method}")
                return self._upload(parts[2], req)
            raise GraphError(404, "itemNotFound", "The resource could not be found.")
        except GraphError as exc:
            return Response.of_json({"error": {"code": exc.code, "message": exc.message}}, exc.status, exc.headers)

    def _download(self, item_id: str, req: Request) -> Response:
        if req.query.get("tempauth") != self._download_token(item_id):
            raise GraphError(401, "unauthenticated", "The download URL is not valid or has expired.")
        found = [i for i in self.api.drive_items if i["id"] == item_id]
        if not found:
            raise GraphError(404, "itemNotFound", "The resource could not be found.")
        item = found[0]
        size = int(item.get("size") or 0)
        mime = (item.get("file") or {}).get("mimeType", "application/octet-stream")
        wanted = req.headers.get("range")
        start, end, status, headers = 0, size - 1, 200, {}
        if wanted:
            match = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted.strip())
            if not match or int(match[1]) >= max(size, 1):
                return Response(416, b"", None, {"Content-Range": f"bytes */{size}"})
            start = int(match[1])
            end = min(int(match[2]) if match[2] else size - 1, size - 1)
            status, headers = 206, {"Content-Range": f"bytes {start}-{end}/{size}"}
        if size > BIG_FILE and item["id"] not in self.contents:
            return Response(status, b"", mime, headers, stream=self.chunks_of(item, start, end), length=end - start + 1)
        return Response(status, self.content_of(item)[start:end + 1], mime, headers)

    def _upload(self, session_id: str, req: Request) -> Response:
        with self._lock:
            session = self.sessions.get(session_id)
        if session is None or req.query.get("tempauth") != session.secret:
            raise GraphError(404, "itemNotFound", "The upload session was not found or has expired.")
        if req.headers.get("authorization"):
            # Graph's upload URLs carry their own authorization; a bearer token is refused.
            raise GraphError(401, "unauthenticated", "Authorization header is not allowed on the upload URL.")
        status = {"expirationDateTime": data.iso(session.expires), "nextExpectedRanges": [f"{session.offset}-"]}
        if req.method == "DELETE":
            with self._lock:
                self.sessions.pop(session_id, None)
            return Response(204, b"", None)
        if req.method == "GET":
            return Response.of_json(status)
        if req.method != "PUT":
            raise GraphError(405, "invalidRequest", "Only PUT, GET and DELETE are allowed on an upload URL.")
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", req.headers.get("content-range", "").strip())
        if not match:
            raise GraphError(400, "invalidRequest", "A Content-Range header such as 'bytes 0-327679/1000000' is required.")
        start, end, total = (int(g) for g in match.groups())
        body = req.body
        if len(body) != end - start + 1 or end >= total:
            raise GraphError(400, "invalidRequest", "The Content-Range does not match the request body.")
        if len(body) > MAX_FRAGMENT:
            raise GraphError(413, "requestTooLarge", "A fragment may be at most 60 MiB.")
        if session.total is not None and total != session.total:
            raise GraphError(400, "invalidRequest", "The total size changed during the upload.")
        if start != session.offset:
            raise GraphError(416, "invalidRange", f"Expected the range starting at {session.offset}.")
        final = end + 1 == total
        if not final and len(body) % FRAGMENT_UNIT:
            raise GraphError(400, "invalidRequest", "Fragments other than the last must be a multiple of 320 KiB.")
        session.total = total
        if total > BIG_FILE:
            session.digest = session.digest or hashlib.sha256()
            session.digest.update(body)
        else:
            session.received += body
        session.offset += len(body)
        session.expires = datetime.now(timezone.utc) + SESSION_LIFETIME
        if not final:
            status["nextExpectedRanges"] = [f"{end + 1}-"]
            status["expirationDateTime"] = data.iso(session.expires)
            return Response.of_json(status, 202)
        with self._lock:
            self.sessions.pop(session_id, None)
        if session.digest is None:
            item, created = self._store(session.path, bytes(session.received), session.conflict)
            return self._item_response(item, 201 if created else 200)
        item, created = self._store(session.path, b"", session.conflict)
        self.contents.pop(item["id"], None)  # a big upload: keep its size and hash, not its bytes
        self._grow(item, total)
        self.digests[item["id"]] = session.digest.hexdigest()
        return self._item_response(item, 201 if created else 200)

    # ---- the tree ---------------------------------------------------------------------------

    def _by_path(self, path: str) -> Json | None:
        wanted = "/" + path.strip("/")
        for item in self.api.drive_items:
            if _drive_path(item).lower() == wanted.lower():
                return item
        return None

    def _item_response(self, item: Json, status: int) -> Response:
        context = f"{self.emu.graph_url}/$metadata#users('{self.emu.user.oid}')/drive/items/$entity"
        return self.api.typed("driveItem", {"@odata.context": context, **item}, status)

    def _store(self, path: str, content: bytes, conflict: str) -> tuple[Json, bool]:
        """Create or replace the file at `path` (creating missing folders); returns (item, created)."""
        with self._lock:
            folder_path, _, name = path.rpartition("/")
            if not name:
                raise GraphError(400, "invalidRequest", "A file name is required.")
            existing = self._by_path(path)
            if existing is not None and conflict == "fail":
                raise GraphError(409, "nameAlreadyExists", "The specified item name already exists.")
            if existing is not None and conflict == "rename":
                stem, dot, ext = name.rpartition(".")
                stem, ext = (stem, dot + ext) if dot else (name, "")
                n = 1
                while self._by_path(f"{folder_path}/{stem} {n}{ext}") is not None:
                    n += 1
                name, existing = f"{stem} {n}{ext}", None
                path = f"{folder_path}/{name}"
            if existing is not None and "folder" in existing:
                raise GraphError(409, "nameAlreadyExists", "A folder with that name already exists.")
            parent = self._folder(folder_path)
            now = data.iso(datetime.now(timezone.utc))
            if existing is not None:
                self._grow(existing, len(content) - int(existing.get("size") or 0))
                existing.update({"lastModifiedDateTime": now})
                self.contents[existing["id"]] = content
                return existing, False
            item = self._new_item(parent, folder_path, name, now)
            item["file"] = {"mimeType": mimetypes.guess_type(name)[0] or "application/octet-stream"}
            item["size"] = 0
            self.api.drive_items.append(item)
            parent["folder"]["childCount"] += 1
            self.contents[item["id"]] = content
            self._grow(item, len(content))
            return item, True

    def _folder(self, folder_path: str) -> Json:
        """The folder at `folder_path` ("" is the root), created with its parents when missing."""
        found = self._by_path(folder_path) if folder_path else self.api.drive_items[0]
        if found is not None:
            if "folder" not in found:
                raise GraphError(409, "nameAlreadyExists", f"'{folder_path}' is a file, not a folder.")
            return found
        above, _, name = folder_path.rpartition("/")
        parent = self._folder(above)
        folder = self._new_item(parent, above, name, data.iso(datetime.now(timezone.utc)))
        folder.update({"folder": {"childCount": 0}, "size": 0})
        self.api.drive_items.append(folder)
        parent["folder"]["childCount"] += 1
        return folder

    def _new_item(self, parent: Json, folder_path: str, name: str, now: str) -> Json:
        user = self.emu.user
        who = {"user": {"displayName": user.name, "id": user.oid}}
        root = self.api.drive_items[0]
        return {
            "id": data._drive_id(f"{folder_path}/{name}"), "name": name,
            "createdDateTime": now, "lastModifiedDateTime": now,
            "webUrl": root["webUrl"] + quote(f"{folder_path}/{name}"),
            "createdBy": who, "lastModifiedBy": who,
            "parentReference": {**{k: v for k, v in root["parentReference"].items() if k in ("driveId", "driveType")},
                                "id": parent["id"], "path": "/drive/root:" + folder_path},
        }

    def _grow(self, item: Json, delta: int) -> None:
        """Add `delta` bytes to an item and every folder above it."""
        item["size"] = int(item.get("size") or 0) + delta
        parent_id = item["parentReference"].get("id")
        while parent_id:
            parent = next(i for i in self.api.drive_items if i["id"] == parent_id)
            parent["size"] = int(parent.get("size") or 0) + delta
            parent_id = parent["parentReference"].get("id")
