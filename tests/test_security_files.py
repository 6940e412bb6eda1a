"""Issue 10, "What the server may read from this computer": the edges test_security.py leaves open.

A hard link to the token cache, a symlink swapped in after the check, and a file that grows
while an upload session reads it (the cap counts bytes read: never more than the size the
user was shown).
"""

from __future__ import annotations

import os
import re

import httpx
import pytest

from local_mcp.tools.local_files import open_regular
from tests.graph_fake import call, text_of
from tests.test_tools_files import server, small_fragments  # noqa: F401 (fixtures)


async def test_a_hard_link_to_the_token_cache_is_refused(server, graph, settings, tmp_path):  # noqa: F811
    cache = settings.resolved_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "msal_token_cache.json").write_text('{"RefreshToken": {}}')
    os.link(cache / "msal_token_cache.json", tmp_path / "notes.txt")
    result = await call(server(allow_writes=True), "upload_file", {"local_path": str(tmp_path / "notes.txt"), "confirm": True})
    assert result.is_error and "same file as one in local-mcp's token cache folder" in text_of(result), text_of(result)
    assert graph.requests == []


def test_a_symlink_swapped_in_after_the_check_is_not_followed(tmp_path):
    target = tmp_path / "secret"
    target.write_text("private")
    (tmp_path / "report.txt").symlink_to(target)
    with pytest.raises(Exception, match="cannot be read"):
        open_regular(tmp_path / "report.txt")
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(Exception, match="not an ordinary file"):
        open_regular(tmp_path / "pipe")


async def test_an_upload_session_never_reads_past_the_size_the_user_was_shown(server, graph, tmp_path, small_fragments):  # noqa: F811
    source = tmp_path / "big.bin"
    source.write_bytes(b"a" * 1100)
    graph.answer("POST", re.compile(r"/createUploadSession$"), {"uploadUrl": "https://upload.example/s1", "nextExpectedRanges": ["0-"]})
    puts: list[httpx.Request] = []

    def fragment(request: httpx.Request) -> httpx.Response:
        puts.append(request)
        if len(puts) == 1:  # the file grows while its first fragment is on the wire
            with source.open("ab") as handle:
                handle.write(b"b" * 5000)
        end, total = (int(x) for x in request.headers["Content-Range"].split("-")[1].split("/"))
        if end + 1 < total:
            return httpx.Response(202, json={"nextExpectedRanges": [f"{end + 1}-"]})
        return httpx.Response(201, json={"id": "f1", "name": "big.bin", "size": total, "file": {}})

    graph.answer("PUT", re.compile(r"^https://upload\.example/"), fragment)
    result = await call(server(allow_writes=True), "upload_file", {"local_path": str(source), "confirm": True})
    assert not result.is_error, text_of(result)
    assert [p.headers["Content-Range"] for p in puts] == ["bytes 0-399/1100", "bytes 400-799/1100", "bytes 800-1099/1100"]
    assert b"".join(p.content for p in puts) == b"a" * 1100
