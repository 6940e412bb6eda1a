"""OneDrive tools through the SDK's in-memory client, with a fake MSAL app and a fake Graph at the HTTP seam."""

from __future__ import annotations

import re

import httpx
import pytest
from mcp import Client

from local_mcp.tools import files
from tests.graph_fake import GRAPH, FakeGraph, body_of, call, error, query, text_of, tool_server

UPLOAD_URL = "https://upload.example/up/session-1?tempauth=pre-authenticated"


def item(name: str, *, folder: bool = False, size: int = 12, parent: str = "/drive/root:/Documents",
         mime: str = "text/plain", item_id: str | None = None) -> dict:
    facet = {"folder": {"childCount": 3}} if folder else {"file": {"mimeType": mime}}
    return {
        "id": item_id or f"id-{name}", "name": name, "size": size, "lastModifiedDateTime": "2026-11-20T08:30:00Z",
        "webUrl": f"https://contoso-my.sharepoint.com/personal/adele/Documents/{name}",
        "parentReference": {"driveId": "b!drive", "id": "parent-id", "path": parent}, **facet,
    }


@pytest.fixture
def server(make_provider, settings, graph, tmp_path):
    def make(**changes):
        changes.setdefault("upload_dirs", (tmp_path,))  # uploads read only from allowed folders
        changes.setdefault("confirm_writes", "model")  # no elicitation in these tests: the model's confirm=true counts
        return tool_server(make_provider, settings.with_changes(download_dir=tmp_path / "downloads", **changes), graph)

    return make


# ----- listing ---------------------------------------------------------------------------------


async def test_files_tools_are_read_only_and_upload_is_listed_only_with_writes(server):
    async with Client(server()) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert {"list_files", "search_files", "get_file", "download_file"} <= set(tools)
    assert "upload_file" not in tools
    assert all(tools[n].annotations.read_only_hint for n in ("list_files", "search_files", "get_file"))
    download = tools["download_file"].annotations  # writes a new local file, never over another one
    assert (download.read_only_hint, download.destructive_hint) == (False, False)
    assert all(tools[n].description and tools[n].output_schema for n in tools)

    async with Client(server(allow_writes=True)) as client:
        upload = {t.name: t for t in (await client.list_tools()).tools}["upload_file"]
    assert upload.annotations.read_only_hint is False
    assert upload.annotations.destructive_hint is True  # conflict="replace" overwrites
    assert set(upload.input_schema["properties"]) >= {"local_path", "folder", "name", "conflict"}


async def test_list_files_selects_fields_and_pages_with_an_opaque_cursor(server, graph):
    next_link = f"{GRAPH}/me/drive/root/children?$select=id,name&$top=2&$skiptoken=page2"
    graph.answer("GET", re.compile(r"/me/drive/root/children$"), lambda r: httpx.Response(200, json=(
        {"value": [item("Notes.txt", parent="/drive/root:"), item("Documents", folder=True, size=900, parent="/drive/root:")],
         "@odata.nextLink": next_link}
        if "skiptoken" not in str(r.url) else {"value": [item("Team photo.jpg", parent="/drive/root:", mime="image/jpeg")]}
    )))
    srv = server()
    first = await call(srv, "list_files", {"limit": 2})
    assert not first.is_error, text_of(first)
    sent = graph.last("GET", re.compile("/children"))
    assert query(sent) == {"$select": files.items.ITEM_FIELDS, "$top": "2"}
    assert sent.headers["Authorization"] == "Bearer at-secret"
    data = first.structured_content
    assert data["folder"] == "/"
    assert [f["name"] for f in data["files"]] == ["Notes.txt", "Documents"]
    notes, documents = data["files"]
    assert notes["kind"] == "file" and notes["mime_type"] == "text/plain" and notes["path"] == "Notes.txt"
    assert notes["modified"] == "2026-11-20T08:30:00+00:00"
    assert documents["kind"] == "folder" and documents["child_count"] == 3
    assert data["page"]["has_more"] is True
    cursor = data["page"]["cursor"]
    assert "graph.example" not in cursor and "http" not in cursor

    second = await call(srv, "list_files", {"limit": 2, "cursor": cursor})
    assert not second.is_error, text_of(second)
    assert query(graph.requests[-1])["$skiptoken"] == "page2"
    assert second.structured_content["files"][0]["name"] == "Team photo.jpg"
    assert second.structured_content["page"] == {"has_more": False, "cursor": None}


async def test_list_files_by_path_or_id_quotes_the_path_and_caps_the_limit(server, graph):
    graph.answer("GET", re.compile(r"/children$"), {"value": []})
    srv = server()
    result = await call(srv, "list_files", {"folder": "/Documents/Q3 plans #2/", "limit": 500})
    assert not result.is_error, text_of(result)
    sent = graph.requests[-1]
    assert sent.url.raw_path.decode().startswith("/v1.0/me/drive/root:/Documents/Q3%20plans%20%232:/children?")
    assert query(sent)["$top"] == "50"
    assert result.structured_content["folder"] == "/Documents/Q3 plans #2"

    await call(srv, "list_files", {"folder_id": "01ABC!12"})
    assert graph.requests[-1].url.raw_path.decode().startswith("/v1.0/me/drive/items/01ABC%2112/children?")


@pytest.mark.parametrize("folder", ["../Secret", "Documents/../../me/messages", "Documents\\Policies", "a:b"])
async def test_list_files_refuses_paths_that_could_escape(server, graph, folder):
    result = await call(server(), "list_files", {"folder": folder})
    assert result.is_error
    assert graph.requests == []


async def test_search_files_quotes_the_query_inside_the_path(server, graph):
    graph.answer("GET", re.compile(r"/me/drive/root/search"), {
        "value": [item("Budget 2025.xlsx", mime="application/vnd.ms-excel")],
        "@odata.nextLink": f"{GRAPH}/me/drive/root/search(q='x')?$skiptoken=s2"})
    result = await call(server(), "search_files", {"query": "Adele's budget", "limit": 5})
    assert not result.is_error, text_of(result)
    sent = graph.requests[-1]
    assert sent.url.path == "/v1.0/me/drive/root/search(q='Adele''s budget')"
    assert "%20" in sent.url.raw_path.decode()
    assert query(sent) == {"$select": files.items.ITEM_FIELDS, "$top": "5"}
    data = result.structured_content
    assert data["files"][0]["name"] == "Budget 2025.xlsx" and data["page"]["has_more"] is True


# ----- reading -----------------------------------------------------------------------------------


def _content_at(graph: FakeGraph, item_path: str, payload: bytes, *, status: int = 200) -> None:
    """Graph answers /content with a redirect to a pre-authenticated URL on another host."""
    graph.answer("GET", re.compile(rf"{item_path}/content$"), httpx.Response(302, headers={"Location": "https://files.example/dl/42?tempauth=t"}))
    graph.answer("GET", re.compile(r"^https://files\.example/dl/42$"), httpx.Response(status, content=payload))


async def test_get_file_returns_the_text_of_a_text_file_without_sending_the_token_elsewhere(server, graph):
    text = "month,planned\nJune,120000\n"
    graph.answer("GET", re.compile(r"/me/drive/root:/Projects/Falcon budget\.csv:$"), item("Falcon budget.csv", size=len(text), mime="text/csv")
                 | {"createdDateTime": "2026-01-02T03:04:05Z", "lastModifiedBy": {"user": {"displayName": "Megan Bowen"}}})
    _content_at(graph, r"/me/drive/root:/Projects/Falcon budget\.csv:", text.encode())
    result = await call(server(), "get_file", {"path": "Projects/Falcon budget.csv"})
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert data["content"] == text and data["truncated"] is False and data["note"] is None
    assert data["modified_by"] == "Megan Bowen" and data["created"] == "2026-01-02T03:04:05+00:00"
    meta = graph.sent("GET", re.compile(r"Falcon budget\.csv:"))[0]
    assert query(meta) == {"$select": files.items.DETAIL_FIELDS + ",@microsoft.graph.downloadUrl"}
    content = graph.last("GET", re.compile("/content"))
    assert content.headers["Accept"] == "*/*" and "Range" not in content.headers
    download = graph.last("GET", re.compile("/dl/42"))
    assert download.url.host == "files.example"
    assert "Authorization" not in download.headers  # msgraph's redirect handler drops it for another host


async def test_get_file_reads_only_the_first_256_kb_of_a_big_text_file(server, graph):
    size = 300 * 1024
    graph.answer("GET", re.compile(r"/me/drive/items/big-log:?$"), item("Server log.txt", size=size, item_id="big-log"))
    body = ("é" + "x" * 99) * (size // 100)
    graph.answer("GET", re.compile(r"/items/big-log/content$"), lambda r: httpx.Response(
        206, content=body.encode()[: files.MAX_CONTENT_BYTES + 1]))
    result = await call(server(), "get_file", {"item_id": "big-log"})
    assert not result.is_error, text_of(result)
    assert graph.last("GET", re.compile("/content")).headers["Range"] == f"bytes=0-{files.MAX_CONTENT_BYTES}"
    data = result.structured_content
    assert data["truncated"] is True
    assert len(data["content"].encode()) <= files.MAX_CONTENT_BYTES and "\ufffd" not in data["content"][-3:]
    assert "first 256 KB" in data["note"] and "download_file" in data["note"]


async def test_get_file_turns_html_into_text(server, graph):
    page = "<html><head><style>p{}</style></head><body><h1>Wiki</h1><p>On-call <a href='https://x.example/oc'>rota</a></p></body></html>"
    graph.answer("GET", re.compile(r"/items/wiki$"), item("Team wiki.html", size=len(page), mime="text/html", item_id="wiki"))
    _content_at(graph, r"/items/wiki", page.encode())
    data = (await call(server(), "get_file", {"item_id": "wiki"})).structured_content
    assert data["content"] == "Wiki\n\nOn-call rota (https://x.example/oc)"


async def test_get_file_does_not_read_binary_files_and_says_what_to_do(server, graph):
    graph.answer("GET", re.compile(r"/items/deck$"), item("Falcon spec.docx", size=120_448, item_id="deck",
                                                          mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document"))
    result = await call(server(), "get_file", {"item_id": "deck"})
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert data["content"] is None and "download_file" in data["note"]
    assert not graph.sent("GET", re.compile("/content"))

    graph.answer("GET", re.compile(r"/items/blob$"), item("data.txt", size=64, item_id="blob"))
    _content_at(graph, r"/items/blob", b"\x00\x01binary" * 8)
    blob = (await call(server(), "get_file", {"item_id": "blob"})).structured_content
    assert blob["content"] is None and "binary" in blob["note"]


@pytest.mark.parametrize("args", [{}, {"path": "Notes.txt", "item_id": "x"}])
async def test_get_file_needs_exactly_one_of_path_or_id(server, graph, args):
    result = await call(server(), "get_file", args)
    assert result.is_error and "exactly one" in text_of(result)
    assert graph.requests == []


# ----- downloading -------------------------------------------------------------------------------


async def test_download_file_saves_into_the_download_folder_and_never_overwrites(server, graph, tmp_path):
    payload = b"%PDF-1.7 fake" * 100
    graph.answer("GET", re.compile(r"/items/pdf$"), item("Travel policy.pdf", size=len(payload), mime="application/pdf", item_id="pdf"))
    _content_at(graph, r"/items/pdf", payload)
    srv = server()
    first = await call(srv, "download_file", {"item_id": "pdf"})
    second = await call(srv, "download_file", {"item_id": "pdf"})
    assert not first.is_error and not second.is_error, text_of(first) + text_of(second)
    folder = tmp_path / "downloads"
    assert first.structured_content["path"] == str(folder / "Travel policy.pdf")
    assert second.structured_content["path"] == str(folder / "Travel policy (2).pdf")
    assert first.structured_content["size"] == len(payload)
    assert (folder / "Travel policy.pdf").read_bytes() == payload == (folder / "Travel policy (2).pdf").read_bytes()
    assert query(graph.sent("GET", re.compile(r"/items/pdf$"))[0])["$select"] == "id,name,size,file,folder,webUrl,@microsoft.graph.downloadUrl"


async def test_download_file_refuses_big_files_and_folders_before_downloading(server, graph, tmp_path):
    graph.answer("GET", re.compile(r"/items/video$"), item("Allhands.mp4", size=files.MAX_DOWNLOAD_BYTES + 1, mime="video/mp4", item_id="video"))
    graph.answer("GET", re.compile(r"/items/docs$"), item("Documents", folder=True, item_id="docs"))
    big = await call(server(), "download_file", {"item_id": "video"})
    assert big.is_error and "up to 100 MB" in text_of(big) and "sharepoint.com" in text_of(big)
    folder = await call(server(), "download_file", {"item_id": "docs"})
    assert folder.is_error and "folder" in text_of(folder)
    assert not graph.sent("GET", re.compile("/content"))
    assert not (tmp_path / "downloads").exists()


# ----- uploading ---------------------------------------------------------------------------------


async def test_upload_file_small_is_one_put_that_fails_on_conflict_by_default(server, graph, tmp_path):
    source = tmp_path / "notes.txt"
    source.write_bytes(b"hello onedrive")
    graph.answer("PUT", re.compile(r"/me/drive/root:/Reports/2026/notes\.txt:/content$"), lambda r: httpx.Response(
        201, json=item("notes.txt", size=len(r.content), parent="/drive/root:/Reports/2026")))
    result = await call(server(allow_writes=True), "upload_file", {"confirm": True, "local_path": str(source), "folder": "Reports/2026"})
    assert not result.is_error, text_of(result)
    sent = graph.last("PUT")
    assert query(sent) == {"@microsoft.graph.conflictBehavior": "fail"}
    assert sent.content == b"hello onedrive" and sent.headers["Content-Type"] == "text/plain"
    data = result.structured_content
    assert data["method"] == "simple" and data["conflict"] == "fail"
    assert data["file"]["path"] == "Reports/2026/notes.txt" and data["file"]["size"] == 14


async def test_upload_file_conflict_is_a_clear_error_and_replace_is_passed_on(server, graph, tmp_path):
    source = tmp_path / "notes.txt"
    source.write_bytes(b"v2")
    graph.answer("PUT", re.compile(r"/content$"), lambda r: error(409, "nameAlreadyExists") if "fail" in str(r.url)
                 else httpx.Response(200, json=item("Notes.txt", size=2, parent="/drive/root:")))
    srv = server(allow_writes=True)
    refused = await call(srv, "upload_file", {"confirm": True, "local_path": str(source), "name": "Notes.txt"})
    assert refused.is_error and 'conflict="replace"' in text_of(refused) and "/Notes.txt" in text_of(refused)
    replaced = await call(srv, "upload_file", {"confirm": True, "local_path": str(source), "name": "Notes.txt", "conflict": "replace"})
    assert not replaced.is_error, text_of(replaced)
    assert query(graph.last("PUT"))["@microsoft.graph.conflictBehavior"] == "replace"


def _session_graph(graph: FakeGraph, *, final_status: int = 201, fail_once: int | None = None) -> list[httpx.Request]:
    received = bytearray()
    puts: list[httpx.Request] = []
    graph.answer("POST", re.compile(r"/createUploadSession$"), {
        "uploadUrl": UPLOAD_URL, "expirationDateTime": "2026-11-22T10:00:00Z", "nextExpectedRanges": ["0-"]})

    def upload(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":
            return httpx.Response(204)
        puts.append(request)
        if fail_once is not None and len(puts) == fail_once:
            return error(503, "serviceNotAvailable")
        start, end, total = (int(x) for x in request.headers["Content-Range"].split()[1].replace("/", "-").split("-"))
        assert start == len(received)
        received.extend(request.content)
        if end + 1 < total:
            return httpx.Response(202, json={"nextExpectedRanges": [f"{end + 1}-"]})
        if final_status >= 400:
            return error(final_status, "nameAlreadyExists")
        return httpx.Response(final_status, json=item("big.bin", size=len(received), parent="/drive/root:/Uploads",
                                                      mime="application/octet-stream"))

    graph.answer("PUT", re.compile(r"^https://upload\.example/"), upload)
    graph.answer("DELETE", re.compile(r"^https://upload\.example/"), upload)
    return puts


@pytest.fixture
def small_fragments(monkeypatch):
    monkeypatch.setattr(files.upload, "SIMPLE_UPLOAD_MAX_BYTES", 1000)
    monkeypatch.setattr(files.upload, "UPLOAD_FRAGMENT_BYTES", 400)
    monkeypatch.setattr(files.upload, "UPLOAD_RETRY_SECONDS", 0.0)


async def test_upload_file_big_goes_through_an_upload_session_without_our_token(server, graph, tmp_path, small_fragments):
    source = tmp_path / "big.bin"
    payload = bytes(range(256)) * 4 + b"tail!"
    source.write_bytes(payload)
    puts = _session_graph(graph)
    result = await call(server(allow_writes=True), "upload_file", {"confirm": True, "local_path": str(source), "folder": "Uploads"})
    assert not result.is_error, text_of(result)
    created = graph.last("POST", re.compile("createUploadSession"))
    assert created.url.path == "/v1.0/me/drive/root:/Uploads/big.bin:/createUploadSession"
    assert body_of(created) == {"item": {"@microsoft.graph.conflictBehavior": "fail", "name": "big.bin"}}
    assert created.headers["Authorization"] == "Bearer at-secret"
    assert [p.headers["Content-Range"] for p in puts] == ["bytes 0-399/1029", "bytes 400-799/1029", "bytes 800-1028/1029"]
    assert b"".join(p.content for p in puts) == payload
    assert all("Authorization" not in p.headers for p in puts)
    data = result.structured_content
    assert data["method"] == "upload_session" and data["file"]["size"] == len(payload)
    assert not graph.sent("DELETE")


async def test_upload_session_retries_a_fragment_once_graph_recovers(server, graph, tmp_path, small_fragments):
    source = tmp_path / "big.bin"
    source.write_bytes(b"z" * 1500)
    puts = _session_graph(graph, fail_once=2)
    result = await call(server(allow_writes=True), "upload_file", {"confirm": True, "local_path": str(source)})
    assert not result.is_error, text_of(result)
    assert [p.headers["Content-Range"] for p in puts] == [
        "bytes 0-399/1500", "bytes 400-799/1500", "bytes 400-799/1500", "bytes 800-1199/1500", "bytes 1200-1499/1500"]


async def test_upload_session_conflict_cancels_the_session(server, graph, tmp_path, small_fragments):
    source = tmp_path / "big.bin"
    source.write_bytes(b"y" * 1200)
    _session_graph(graph, final_status=409)
    result = await call(server(allow_writes=True), "upload_file", {"confirm": True, "local_path": str(source)})
    assert result.is_error and 'conflict="replace"' in text_of(result)
    assert str(graph.last("DELETE").url) == UPLOAD_URL


async def test_an_expired_upload_session_says_to_upload_again(server, graph, tmp_path, small_fragments):
    source = tmp_path / "big.bin"
    source.write_bytes(b"y" * 1200)
    graph.answer("POST", re.compile(r"/createUploadSession$"), {"uploadUrl": UPLOAD_URL, "nextExpectedRanges": ["0-"]})
    graph.answer("PUT", re.compile(r"^https://upload\.example/"), error(404, "itemNotFound"))
    graph.answer("DELETE", re.compile(r"^https://upload\.example/"), error(404, "itemNotFound"))
    result = await call(server(allow_writes=True), "upload_file", {"confirm": True, "local_path": str(source)})
    assert result.is_error and "expired or was cancelled; upload the file again" in text_of(result)
    assert "tempauth" not in text_of(result)  # the upload URL's credential is never shown
    assert len(graph.sent("PUT")) == 1  # a 404 is not retried


async def test_upload_session_refuses_an_upload_url_that_is_not_https(server, graph, tmp_path, small_fragments):
    source = tmp_path / "big.bin"
    source.write_bytes(b"y" * 1200)
    graph.answer("POST", re.compile(r"/createUploadSession$"), {"uploadUrl": "http://upload.example/up/1", "nextExpectedRanges": ["0-"]})
    result = await call(server(allow_writes=True), "upload_file", {"confirm": True, "local_path": str(source)})
    assert result.is_error and "not https" in text_of(result)
    assert not graph.sent("PUT")


@pytest.mark.parametrize("local_path", ["relative/file.txt", "/nonexistent/dir/file.txt"])
async def test_upload_file_needs_an_existing_absolute_path(server, graph, local_path):
    result = await call(server(allow_writes=True), "upload_file", {"confirm": True, "local_path": local_path})
    assert result.is_error
    assert graph.requests == []
