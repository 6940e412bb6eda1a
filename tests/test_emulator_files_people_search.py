"""Self-tests of the emulator's OneDrive content and uploads, people and directory, and Microsoft Search."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest

from tests.emulator import Emulator

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def graph(emu: Emulator) -> Iterator[httpx.Client]:
    tls = ssl.create_default_context(cafile=emu.ca_bundle)
    with httpx.Client(base_url=emu.graph_url, verify=tls, timeout=10) as client:
        yield client


def bearer(emu: Emulator, *scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {emu.issue_access_token(list(scopes))}"}


def test_drive_search_content_range_and_select_of_absent_facets(emu: Emulator, graph: httpx.Client) -> None:
    files = bearer(emu, "Files.Read")
    falcon = graph.get("/me/drive/root:/Projects/Falcon:/children", params={"$select": "id,name,folder,file"}, headers=files)
    assert falcon.status_code == 200 and all("folder" not in i for i in falcon.json()["value"])
    found = graph.get("/me/drive/root/search(q='falcon budget')", params={"$select": "name"}, headers=files).json()
    assert {i["name"] for i in found["value"]} == {"Falcon budget.csv", "Notes.txt"}  # by name, by content

    content = graph.get("/me/drive/root:/Notes.txt:/content", headers=files)
    assert content.status_code == 302 and "/_files/download/" in content.headers["Location"]
    with httpx.Client(verify=ssl.create_default_context(cafile=emu.ca_bundle)) as plain:
        notes = plain.get(content.headers["Location"])
        first = plain.get(content.headers["Location"], headers={"Range": "bytes=0-4"})
        forged = plain.get(content.headers["Location"].split("?")[0] + "?tempauth=guess")
    assert len(notes.content) == 1204 and notes.content.startswith(b"Notes")
    assert first.status_code == 206 and first.content == b"Notes" and first.headers["Content-Range"] == "bytes 0-4/1204"
    assert forged.status_code == 401
    assert graph.get("/me/drive/root:/Notes.txt:/content", headers=bearer(emu, "Mail.Read")).status_code == 403


def test_uploads_simple_and_in_a_session(emu: Emulator, graph: httpx.Client) -> None:
    write = bearer(emu, "Files.ReadWrite")
    put = graph.put("/me/drive/root:/Emu/new.txt:/content", params={"@microsoft.graph.conflictBehavior": "fail"},
                    content=b"one", headers=write)
    assert put.status_code == 201 and put.json()["parentReference"]["path"] == "/drive/root:/Emu"
    again = graph.put("/me/drive/root:/Emu/new.txt:/content?@microsoft.graph.conflictBehavior=fail", content=b"two",
                      headers=write)
    assert again.status_code == 409 and again.json()["error"]["code"] == "nameAlreadyExists"
    assert graph.put("/me/drive/root:/Emu/new.txt:/content", content=b"x", headers=bearer(emu, "Files.Read")).status_code == 403

    session = graph.post("/me/drive/root:/Emu/big.bin:/createUploadSession",
                         json={"item": {"@microsoft.graph.conflictBehavior": "fail"}}, headers=write).json()
    url, unit = session["uploadUrl"], 320 * 1024
    payload = bytes(range(256)) * (unit // 256) + b"end"
    with httpx.Client(verify=ssl.create_default_context(cafile=emu.ca_bundle)) as plain:
        with_token = plain.put(url, content=payload[:unit], headers={**write, "Content-Range": f"bytes 0-{unit - 1}/{len(payload)}"})
        assert with_token.status_code == 401
        odd = plain.put(url, content=payload[:1000], headers={"Content-Range": f"bytes 0-999/{len(payload)}"})
        assert odd.status_code == 400  # non-final fragments are multiples of 320 KiB
        part = plain.put(url, content=payload[:unit], headers={"Content-Range": f"bytes 0-{unit - 1}/{len(payload)}"})
        assert part.status_code == 202 and part.json()["nextExpectedRanges"] == [f"{unit}-"]
        done = plain.put(url, content=payload[unit:], headers={"Content-Range": f"bytes {unit}-{len(payload) - 1}/{len(payload)}"})
    assert done.status_code == 201 and done.json()["size"] == len(payload)
    stored = graph.get("/me/drive/root:/Emu/big.bin:/content", headers=bearer(emu, "Files.Read"), follow_redirects=True)
    assert stored.content == payload
    assert emu.counts["files upload PUT"] == 4


def test_people_directory_managers_and_search(emu: Emulator, graph: httpx.Client) -> None:
    people = graph.get("/me/people", params={"$search": '"meg"'}, headers=bearer(emu, "People.Read")).json()["value"]
    assert [p["displayName"] for p in people] == ["Megan Bowen"] and people[0]["jobTitle"]
    basic = graph.get("/users/jlorenz@contoso.example", headers=bearer(emu, "User.ReadBasic.All")).json()
    assert basic["displayName"] == "Johanna Lorenz" and "jobTitle" not in basic
    full = graph.get("/users", params={"$filter": "mail eq 'johanna@contoso.example'"}, headers=bearer(emu, "User.Read.All"))
    assert full.json()["value"][0]["jobTitle"] == "Legal Counsel"
    manager = graph.get("/me/manager", headers=bearer(emu, "User.Read.All")).json()
    assert manager["displayName"] == "Isaiah Langer"
    top = graph.get(f"/users/lynne@{emu.user.domain}/manager", headers=bearer(emu, "User.Read.All"))
    assert top.status_code == 404 and top.json()["error"]["code"] == "Request_ResourceNotFound"
    assert graph.get("/me/manager", headers=bearer(emu, "User.ReadBasic.All")).status_code == 403

    def search(entity: str, text: str, scope: str, **extra) -> httpx.Response:
        body = {"requests": [{"entityTypes": [entity], "query": {"queryString": text}, "from": 0, "size": 2, **extra}]}
        return graph.post("/search/query", json=body, headers=bearer(emu, scope))

    mail = search("message", "falcon", "Mail.Read").json()["value"][0]["hitsContainers"][0]
    # for messages Graph's total counts the page, not all matches (documented limitation)
    assert mail["total"] == 2 and mail["moreResultsAvailable"] is True and len(mail["hits"]) == 2
    assert "<c0>" in mail["hits"][0]["summary"] and mail["hits"][0]["resource"]["@odata.type"] == "#microsoft.graph.message"
    events = search("event", "standup", "Calendars.Read").json()["value"][0]["hitsContainers"][0]
    assert events["hits"][0]["resource"]["subject"] == "Daily standup"
    assert search("driveItem", "falcon", "Files.Read").status_code == 403  # driveItem search needs Files.Read.All
    assert search("driveItem", "falcon", "Files.Read.All").status_code == 200
    assert search("message", "falcon", "Mail.Read", size=26).status_code == 400
    mixed = {"requests": [{"entityTypes": ["message", "event"], "query": {"queryString": "x"}}]}
    assert graph.post("/search/query", json=mixed, headers=bearer(emu, "Mail.Read", "Calendars.Read")).status_code == 400
