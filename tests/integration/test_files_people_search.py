"""Files, people, search and graph_request: the real `local-mcp` process over stdio against the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import USER, ServerSetup

pytestmark = pytest.mark.integration


def text_of(result) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


async def ok(client, tool: str, args: dict) -> dict:
    result = await client.call_tool(tool, args)
    assert not result.is_error, f"{tool}: {text_of(result)}"
    return result.structured_content


async def test_onedrive_listing_paging_text_search_and_download(setup: ServerSetup, tmp_path: Path):
    emu = setup.emulator
    downloads = tmp_path / "downloads"
    async with setup.client(LOCAL_MCP_DOWNLOAD_DIR=str(downloads)) as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        assert {"list_files", "search_files", "get_file", "download_file", "graph_request"} <= set(listed)
        assert "upload_file" not in listed and listed["graph_request"].annotations.read_only_hint is True

        names, cursor, pages = [], None, 0
        while True:
            page = await ok(client, "list_files", {"limit": 2, **({"cursor": cursor} if cursor else {})})
            names += [f["name"] for f in page["files"]]
            pages += 1
            cursor = page["page"]["cursor"]
            if not page["page"]["has_more"]:
                break
        assert pages == 3 and len(names) == len(set(names)) == 5
        assert set(names) == {"Documents", "Projects", "Quarterly Report Q3.docx", "Team photo.jpg", "Notes.txt"}
        falcon = await ok(client, "list_files", {"folder": "Projects/Falcon"})
        assert {f["name"] for f in falcon["files"]} == {"Falcon spec.docx", "Launch timeline.xlsx"}
        assert all(f["kind"] == "file" and f["path"].startswith("Projects/Falcon/") for f in falcon["files"])

        notes = await ok(client, "get_file", {"path": "Notes.txt"})
        assert notes["content"].startswith("Notes\n=====") and notes["truncated"] is False
        log = await ok(client, "get_file", {"path": "Documents/Server log.txt"})
        assert log["truncated"] is True and len(log["content"]) == 256 * 1024
        wiki = await ok(client, "get_file", {"path": "Documents/Team wiki.html"})
        assert wiki["content"].startswith("Team wiki") and "<" not in wiki["content"]
        photo = await ok(client, "get_file", {"path": "Team photo.jpg"})
        assert photo["content"] is None and "download_file" in photo["note"]

        found = await ok(client, "search_files", {"query": "budget"})
        assert {"Falcon budget.csv", "Budget 2025.xlsx"} <= {f["name"] for f in found["files"]}

        saved = await ok(client, "download_file", {"path": "Documents/Travel policy.pdf"})
    path = Path(saved["path"])
    assert path.parent == downloads and path.name == "Travel policy.pdf"
    assert saved["size"] == path.stat().st_size == 182_337 and path.read_bytes().startswith(b"%PDF")
    assert emu.counts["files download"] == 4  # three text files read, not the photo, and one download
    assert emu.counts["authorize"] == 1  # one sign-in for everything


async def test_people_directory_search_and_graph_request(setup: ServerSetup):
    emu = setup.emulator
    async with setup.client() as client:
        people = await ok(client, "search_people", {"query": "meg"})
        assert [p["name"] for p in people["people"]] == ["Megan Bowen"]
        assert people["people"][0]["job_title"] == "Marketing Manager"
        johanna = await ok(client, "get_user", {"user": f"johanna@{USER.domain}"})
        assert johanna["user_principal_name"] == f"jlorenz@{USER.domain}" and johanna["job_title"] == "Legal Counsel"
        basic = await ok(client, "get_user", {"user": f"megan@{USER.domain}", "full_profile": False})
        assert basic["name"] == "Megan Bowen" and basic["job_title"] is None
        mine = await ok(client, "get_manager", {})
        assert mine["manager"]["name"] == "Isaiah Langer"
        top = await ok(client, "get_manager", {"user": f"lynne@{USER.domain}"})
        assert top["manager"] is None

        mail = await ok(client, "search", {"query": "Falcon", "limit": 2})
        assert len(mail["hits"]) == 2 and mail["page"]["has_more"] is True
        assert all("falcon" in (h["title"] + (h["summary"] or "")).lower() for h in mail["hits"])
        more = await ok(client, "search", {"query": "Falcon", "limit": 2, "cursor": mail["page"]["cursor"]})
        assert {h["id"] for h in more["hits"]}.isdisjoint({h["id"] for h in mail["hits"]})
        files = await ok(client, "search", {"query": "falcon", "entity_type": "driveItem"})
        assert "Falcon spec.docx" in {h["title"] for h in files["hits"]}
        spec = next(h for h in files["hits"] if h["title"] == "Falcon spec.docx")
        opened = await ok(client, "get_file", {"item_id": spec["id"], "drive_id": spec["drive_id"]})  # /drives/{id}/items/{id}
        assert opened["file"]["name"] == "Falcon spec.docx"

        me = await ok(client, "graph_request", {"path": "/me", "query": {"$select": "displayName,mail"}, "scopes": ["User.Read"]})
        assert me["body"]["displayName"] == USER.name and me["status"] == 200
        refused = await client.call_tool("graph_request", {"path": "/me/sendMail", "method": "POST", "scopes": ["Mail.Send"]})
        assert refused.is_error and "LOCAL_MCP_ALLOW_WRITES" in text_of(refused)
        status = await ok(client, "auth_status", {})
    granted = set(status["granted_scopes"][emu.graph_resource])
    assert {"People.Read", "User.Read.All", "User.ReadBasic.All", "Mail.Read", "Files.Read.All", "User.Read"} <= granted
    assert emu.counts["graph POST /search/query"] == 3 and emu.counts["graph POST /me/sendMail"] == 0


async def test_upload_small_and_large_files_with_writes_allowed(setup: ServerSetup, tmp_path: Path):
    emu = setup.emulator
    small = tmp_path / "hello.txt"
    small.write_text("hello from local-mcp\n")
    large = tmp_path / "dataset.bin"
    payload = bytes(range(256)) * (5 * 1024 * 1024 // 256) + b"tail"
    large.write_bytes(payload)
    async with setup.client(LOCAL_MCP_ALLOW_WRITES="1", LOCAL_MCP_DOWNLOAD_DIR=str(tmp_path / "dl"),
                            LOCAL_MCP_UPLOAD_DIRS=str(tmp_path), LOCAL_MCP_CONFIRM_WRITES="model") as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert tools["upload_file"].annotations.destructive_hint is True
        assert tools["graph_request"].annotations.destructive_hint is True

        first = await ok(client, "upload_file", {"confirm": True, "local_path": str(small), "folder": "Uploads/2026"})
        assert first["method"] == "simple" and first["file"]["path"] == "Uploads/2026/hello.txt"
        again = await client.call_tool("upload_file", {"confirm": True, "local_path": str(small), "folder": "Uploads/2026"})
        assert again.is_error and 'conflict="replace"' in text_of(again)
        small.write_text("second version\n")
        await ok(client, "upload_file", {"confirm": True, "local_path": str(small), "folder": "Uploads/2026", "conflict": "replace"})
        read_back = await ok(client, "get_file", {"path": "Uploads/2026/hello.txt"})
        assert read_back["content"] == "second version\n"

        big = await ok(client, "upload_file", {"confirm": True, "local_path": str(large), "folder": "Uploads", "name": "data.bin"})
        assert big["method"] == "upload_session" and big["file"]["size"] == len(payload)
        copy = await ok(client, "download_file", {"item_id": big["file"]["id"]})
    assert Path(copy["path"]).read_bytes() == payload
    assert emu.counts["graph POST /me/drive/root:/{path}:/createUploadSession"] == 1
    # fragments of UPLOAD_FRAGMENT_BYTES (a multiple of 320 KiB, Graph docs), the last one shorter;
    # the upload URL refuses bearer tokens
    from local_mcp.tools.files import UPLOAD_FRAGMENT_BYTES

    assert emu.counts["files upload PUT"] == -(-len(payload) // UPLOAD_FRAGMENT_BYTES)
    assert emu.counts["graph PUT /me/drive/root:/{path}:/content"] == 3
