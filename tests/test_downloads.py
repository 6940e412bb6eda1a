"""Streamed downloads: chunked reads that stop at the cap, temp-name-then-rename, Range on the
downloadUrl (issue 9, bug 12), and names of attached Outlook items (issue 9, bug 7)."""

from __future__ import annotations

import re
import stat

import anyio
import httpx
import pytest

from local_mcp.tools import _download, files
from local_mcp.tools.mail import read as mail
from tests.graph_fake import FakeGraph, call, text_of, tool_server

CHUNK = 64 * 1024
DOWNLOAD_URL = "https://files.example/dl/7?tempauth=pre-authenticated"


class Body(httpx.AsyncByteStream):
    """A response body produced chunk by chunk, counting how many chunks were asked for."""

    def __init__(self, total: int, piece: bytes = b"x") -> None:
        self.total, self.piece, self.produced = total, piece, 0

    async def __aiter__(self):  # type: ignore[override]
        while self.produced * CHUNK < self.total:
            self.produced += 1
            yield self.piece * CHUNK

    @property
    def chunks(self) -> int:
        return -(-self.total // CHUNK)


def item(name: str, size: int, *, item_id: str = "f1", mime: str = "application/octet-stream", url: bool = True) -> dict:
    meta = {"id": item_id, "name": name, "size": size, "file": {"mimeType": mime},
            "parentReference": {"path": "/drive/root:/Documents"}}
    return {**meta, "@microsoft.graph.downloadUrl": DOWNLOAD_URL} if url else meta


@pytest.fixture
def server(make_provider, settings, graph, tmp_path):
    return lambda: tool_server(make_provider, settings.with_changes(download_dir=tmp_path / "downloads"), graph)


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


async def test_download_file_streams_from_the_download_url_and_renames_when_complete(server, graph, tmp_path):
    body = Body(40 * CHUNK)
    graph.answer("GET", re.compile(r"/items/f1$"), item("Video.mp4", body.total))
    graph.answer("GET", re.compile(r"^https://files\.example/dl/7$"), lambda r: httpx.Response(200, stream=body))
    result = await call(server(), "download_file", {"item_id": "f1"})
    assert not result.is_error, text_of(result)
    saved = tmp_path / "downloads" / "Video.mp4"
    assert result.structured_content["size"] == body.total == saved.stat().st_size
    assert leftovers(tmp_path / "downloads") == ["Video.mp4"]  # the temporary name is gone
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    fetched = graph.last("GET", re.compile("/dl/7"))
    assert "Authorization" not in fetched.headers  # a pre-authenticated URL never gets our token
    assert not graph.sent("GET", re.compile("/content$"))


async def test_download_file_stops_reading_at_the_cap_and_keeps_nothing(server, graph, tmp_path, monkeypatch):
    monkeypatch.setattr(files.read, "MAX_DOWNLOAD_BYTES", 8 * CHUNK)
    body = Body(100 * CHUNK)  # the metadata says small, the content is not
    graph.answer("GET", re.compile(r"/items/f1$"), item("liar.bin", 1000))
    graph.answer("GET", re.compile(r"^https://files\.example/dl/7$"), lambda r: httpx.Response(200, stream=body))
    result = await call(server(), "download_file", {"item_id": "f1"})
    assert result.is_error and "nothing was saved" in text_of(result)
    assert body.produced <= 16 < body.chunks  # it stopped mid-stream instead of buffering the body
    assert leftovers(tmp_path / "downloads") == []  # no partial file, no temporary file


async def test_download_file_without_a_download_url_streams_content_through_graph(server, graph, tmp_path):
    body = Body(3 * CHUNK)
    graph.answer("GET", re.compile(r"/items/f1$"), item("a.bin", body.total, url=False))
    graph.answer("GET", re.compile(r"/items/f1/content$"), lambda r: httpx.Response(200, stream=body))
    result = await call(server(), "download_file", {"item_id": "f1"})
    assert not result.is_error, text_of(result)
    assert graph.last("GET", re.compile("/content$")).headers["Accept"] == "*/*"
    assert (tmp_path / "downloads" / "a.bin").stat().st_size == body.total


async def test_get_file_sends_range_to_the_download_url_and_stops_when_it_is_ignored(server, graph):
    body = Body(64 * CHUNK, b"a")  # 4 MB: the service ignored the Range and sends everything
    graph.answer("GET", re.compile(r"/items/f1$"), item("log.txt", body.total, mime="text/plain"))
    graph.answer("GET", re.compile(r"^https://files\.example/dl/7$"), lambda r: httpx.Response(200, stream=body))
    result = await call(server(), "get_file", {"item_id": "f1"})
    assert not result.is_error, text_of(result)
    sent = graph.last("GET", re.compile("/dl/7"))
    assert sent.headers["Range"] == f"bytes=0-{files.MAX_CONTENT_BYTES}" and "Authorization" not in sent.headers
    data = result.structured_content
    assert data["truncated"] is True and len(data["content"]) == files.MAX_CONTENT_BYTES
    assert body.produced <= files.MAX_CONTENT_BYTES // CHUNK + 2 < body.chunks
    assert query_select(graph).endswith(",@microsoft.graph.downloadUrl")


def query_select(graph: FakeGraph) -> str:
    return dict(graph.sent("GET", re.compile(r"/items/f1$"))[0].url.params)["$select"]


# ----- attachments -------------------------------------------------------------------------------

ATT = "/me/messages/m1/attachments/a1"


@pytest.mark.parametrize(("content_type", "payload", "expected"), [
    ("text/calendar; charset=utf-8", b"BEGIN:VCALENDAR\r\n", "Team sync.ics"),
    ("text/vcard", b"BEGIN:VCARD\r\n", "Team sync.vcf"),
    ("message/rfc822", b"Subject: hi\r\n\r\n", "Team sync.eml"),
    ("application/octet-stream", b"BEGIN:VCARD\r\nFN:Megan\r\n", "Team sync.vcf"),  # by its first bytes
    ("application/octet-stream", b"Received: x\r\n", "Team sync.eml"),
])
async def test_item_attachments_are_named_by_what_they_are(server, graph, tmp_path, content_type, payload, expected):
    graph.answer("GET", ATT, {"@odata.type": "#microsoft.graph.itemAttachment", "id": "a1", "name": "Team sync",
                              "size": 900, "contentType": None})
    graph.answer("GET", ATT + "/$value", content=payload, headers={"content-type": content_type})
    result = await call(server(), "download_attachment", {"message_id": "m1", "attachment_id": "a1"})
    assert not result.is_error, text_of(result)
    assert result.structured_content["name"] == expected
    assert (tmp_path / "downloads" / expected).read_bytes() == payload
    assert graph.last("GET", ATT + "/$value").headers["Accept"] == "*/*"


async def test_an_attachment_bigger_than_it_said_is_cut_off_at_the_cap(server, graph, tmp_path, monkeypatch):
    monkeypatch.setattr(mail, "MAX_ATTACHMENT_BYTES", 4 * CHUNK)
    body = Body(50 * CHUNK)
    graph.answer("GET", ATT, {"id": "a1", "name": "big.zip", "size": 10, "contentType": "application/zip"})
    graph.answer("GET", ATT + "/$value", lambda r: httpx.Response(200, stream=body))
    result = await call(server(), "download_attachment", {"message_id": "m1", "attachment_id": "a1"})
    assert result.is_error and "over the" in text_of(result)
    assert body.produced < body.chunks and leftovers(tmp_path / "downloads") == []


# ----- the saver itself --------------------------------------------------------------------------


async def test_save_stream_never_overwrites_and_cleans_up_on_failure(tmp_path):
    async def chunks(n: int, fail: bool = False):
        for _ in range(n):
            yield b"y" * 10
        if fail:
            raise OSError("connection reset")

    (tmp_path / "r.txt").write_bytes(b"mine")
    path, size = await _download.save_stream(tmp_path, "r.txt", chunks(3), max_bytes=100)
    assert (path.name, size, path.read_bytes()) == ("r (2).txt", 30, b"y" * 30)
    assert (tmp_path / "r.txt").read_bytes() == b"mine"
    with pytest.raises(OSError):
        await _download.save_stream(tmp_path, "s.txt", chunks(2, fail=True), max_bytes=100)
    with pytest.raises(_download.TooLarge):
        await _download.save_stream(tmp_path, "t.txt", chunks(20), max_bytes=100)
    assert leftovers(tmp_path) == ["r (2).txt", "r.txt"]


async def test_a_download_whose_disk_fills_half_way_leaves_nothing_under_its_name(tmp_path, monkeypatch):
    import errno

    async def chunks():
        for _ in range(5):
            yield b"z" * 10

    real_write = _download.PendingFile.write

    def fill_up(self, data):
        if self.size >= 20:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(self, data)

    monkeypatch.setattr(_download.PendingFile, "write", fill_up)
    with pytest.raises(OSError):
        await _download.save_stream(tmp_path, "big.bin", chunks(), max_bytes=1000)
    assert leftovers(tmp_path) == []  # neither big.bin nor its .part


def test_save_bytes_writes_under_a_temporary_name_first(tmp_path, monkeypatch):
    seen: list[str] = []
    real = _download.PendingFile.commit

    def spy(self):
        seen.extend(p.name for p in tmp_path.iterdir())
        return real(self)

    monkeypatch.setattr(_download.PendingFile, "commit", spy)
    path = _download.save_bytes(tmp_path, "../../etc/passwd", b"data")
    assert path.parent == tmp_path and path.read_bytes() == b"data"
    assert len(seen) == 1 and seen[0].startswith(".") and seen[0].endswith(".part")


def test_read_capped_stops_after_the_limit():
    async def main():
        produced = []

        async def chunks():
            for i in range(100):
                produced.append(i)
                yield b"z" * 10

        data, more = await _download.read_capped(chunks(), 25)
        return data, more, len(produced)

    data, more, produced = anyio.run(main)
    assert (data, more) == (b"z" * 25, True) and produced == 3


async def test_saved_files_also_come_back_as_resource_links(server, graph, tmp_path):
    graph.answer("GET", re.compile(r"/items/f1$"), item("Report final.pdf", 5))
    graph.answer("GET", re.compile(r"^https://files\.example/dl/7$"), lambda r: httpx.Response(200, content=b"%PDF-"))
    result = await call(server(), "download_file", {"item_id": "f1"})
    assert not result.is_error, text_of(result)
    assert set(result.structured_content) == {"id", "name", "path", "size"}  # unchanged by the link
    link = result.content[-1]
    saved = tmp_path / "downloads" / "Report final.pdf"
    assert link.type == "resource_link" and link.uri == saved.as_uri() and link.uri.startswith("file:///")
    assert (link.name, link.mime_type, link.size) == ("Report final.pdf", "application/pdf", 5)

    graph.answer("GET", ATT, {"@odata.type": "#microsoft.graph.fileAttachment", "id": "a1", "name": "notes.txt",
                              "size": 2, "contentType": "text/plain"})
    graph.answer("GET", ATT + "/$value", content=b"hi", headers={"content-type": "text/plain"})
    result = await call(server(), "download_attachment", {"message_id": "m1", "attachment_id": "a1"})
    assert not result.is_error, text_of(result)
    link = result.content[-1]
    assert link.type == "resource_link" and link.uri == (tmp_path / "downloads" / "notes.txt").as_uri()
    assert (link.mime_type, link.size) == ("text/plain", 2)
