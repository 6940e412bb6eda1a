"""Files found by `search` may live in other drives (issue 9, bug 4); OneDrive for Business search
results carry no parentReference.path (bug 5)."""

from __future__ import annotations

import re

import httpx

from tests.graph_fake import call, scopes_asked, text_of, tool_server
from tests.test_tools_search import answer

# The shape of a driveItem hit in the docs (*Search OneDrive and SharePoint content*): the hitId is
# not the item id, and the item lives in a SharePoint drive.
SHAREPOINT_HIT = {
    "hitId": "FlULeN/ui/1GjLx1rUfio5UAAEl", "rank": 1, "summary": "<c0>Falcon</c0> plan",
    "resource": {
        "@odata.type": "#microsoft.graph.driveItem", "id": "01NKDM7HMOJTVYMDOSXFDK2QJDXCDI3WUK",
        "name": "Falcon plan.docx", "size": 2048, "webUrl": "https://contoso.sharepoint.com/sites/falcon/Falcon%20plan.docx",
        "parentReference": {"driveId": "b!SharePointDrive", "id": "01NKDM7HPARENT"},
    },
}


async def test_file_hits_carry_their_drive_and_never_a_hit_id(make_provider, settings, graph):
    no_id = {**SHAREPOINT_HIT, "resource": {k: v for k, v in SHAREPOINT_HIT["resource"].items() if k != "id"}}
    graph.answer("POST", re.compile(r"/search/query$"), answer([SHAREPOINT_HIT, no_id], total=2))
    result = await call(tool_server(make_provider, settings, graph), "search", {"query": "falcon", "entity_type": "driveItem"})
    assert not result.is_error, text_of(result)
    first, second = result.structured_content["hits"]
    assert (first["id"], first["drive_id"]) == ("01NKDM7HMOJTVYMDOSXFDK2QJDXCDI3WUK", "b!SharePointDrive")
    assert second["id"] == ""  # never the hitId


async def test_get_and_download_open_an_item_through_its_drive(make_provider, settings, graph, tmp_path, fake_app):
    settings = settings.with_changes(download_dir=tmp_path / "dl")
    path = re.compile(r"/v1\.0/drives/b!SharePointDrive/items/01NKDM7H$")
    graph.answer("GET", path, {"id": "01NKDM7H", "name": "plan.txt", "size": 5, "file": {"mimeType": "text/plain"},
                               "@microsoft.graph.downloadUrl": "https://files.example/dl/7?tempauth=t"})
    graph.answer("GET", re.compile(r"/drives/b!SharePointDrive/items/01NKDM7H/content$"),
                 httpx.Response(302, headers={"Location": "https://files.example/dl/7?tempauth=t"}))
    graph.answer("GET", re.compile(r"^https://files\.example/dl/7$"), httpx.Response(200, content=b"hello"))
    server = tool_server(make_provider, settings, graph)
    args = {"item_id": "01NKDM7H", "drive_id": "b!SharePointDrive"}
    got = await call(server, "get_file", args)
    saved = await call(server, "download_file", args)
    assert not got.is_error, text_of(got)
    assert got.structured_content["content"] == "hello"
    assert not saved.is_error, text_of(saved)
    assert (tmp_path / "dl" / "plan.txt").read_bytes() == b"hello"
    assert not graph.sent("GET", re.compile(r"/me/drive/"))
    assert scopes_asked(fake_app) == {"Files.Read.All"}  # another drive needs Files.Read.All


async def test_a_drive_id_needs_an_item_id(make_provider, settings, graph):
    result = await call(tool_server(make_provider, settings, graph), "get_file", {"path": "a.txt", "drive_id": "b!x"})
    assert result.is_error and "`drive_id` goes with `item_id`" in text_of(result)
    assert not graph.requests


def _business_hit(name: str, parent_id: str) -> dict:
    """A OneDrive for Business search result: parentReference without `path`."""
    return {"id": f"id-{name}", "name": name, "size": 1, "file": {"mimeType": "text/plain"},
            "parentReference": {"driveId": "b!drive", "driveType": "business", "id": parent_id}}


async def test_search_files_resolves_each_distinct_parent_once(make_provider, settings, graph):
    graph.answer("GET", re.compile(r"/me/drive/root/search"), {"value": [
        _business_hit("a.txt", "p-docs"), _business_hit("b.txt", "p-docs"), _business_hit("c.txt", "p-root"),
        _business_hit("d.txt", "p-secret")]})
    graph.answer("GET", "/me/drive/items/p-docs", {"id": "p-docs", "name": "Policies",
                                                   "parentReference": {"path": "/drive/root:/Documents"}})
    graph.answer("GET", "/me/drive/items/p-root", {"id": "p-root", "name": "root", "root": {}})
    graph.fail("GET", "/me/drive/items/p-secret", 403, "accessDenied")
    result = await call(tool_server(make_provider, settings, graph), "search_files", {"query": "x"})
    assert not result.is_error, text_of(result)
    assert [f["path"] for f in result.structured_content["files"]] == [
        "Documents/Policies/a.txt", "Documents/Policies/b.txt", "c.txt", None]
    assert len(graph.sent("GET", "/me/drive/items/p-docs")) == 1
