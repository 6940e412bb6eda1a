"""The emulator's Graph contract: property names and answers checked against msgraph-sdk's models,
and the documented query rules of tests/emulator/README.md, one test per area."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from tests.emulator import Emulator, EmulatorUser
from tests.emulator.contract import violations
from tests.emulator.rules import MSA_TENANT

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:  # leaving `with` parses every answer it sent with the SDK's models
        yield emulator


def client(emu: Emulator, *scopes: str, **headers: str) -> httpx.Client:
    token = emu.issue_access_token(scopes)
    return httpx.Client(base_url=emu.graph_url, verify=ssl.create_default_context(cafile=emu.ca_bundle), timeout=10,
                        headers={"Authorization": f"Bearer {token}", **headers})


def error(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()["error"]
    return response.status_code, body["code"], body["message"]


def test_property_names_come_from_graphs_metadata(emu: Emulator) -> None:
    with client(emu, "Mail.Read") as graph:
        for option, value in (("$select", "subject,nonsense"), ("$filter", "nonsense eq 1"),
                              ("$orderby", "nonsense desc"), ("$expand", "nonsense")):
            status, _, message = error(graph.get("/me/messages", params={option: value}))
            assert status == 400, option
            assert message == "Could not find a property named 'nonsense' on type 'microsoft.graph.message'."
        # real properties that the seeded data lacks are accepted (absent from the answer), in any case
        absent = graph.get("/me/messages", params={"$select": "categories,Subject", "$top": "3"})
        assert absent.status_code == 200 and all("categories" not in m and "subject" in m for m in absent.json()["value"])
        assert graph.get("/me/messages", params={"$filter": "inferenceClassification eq 'focused'"}).status_code == 200
    with client(emu, "Files.Read") as graph:
        status, _, message = error(graph.get("/me/drive/root/children", params={"$select": "name,path"}))
        assert status == 400 and "'path' on type 'microsoft.graph.driveItem'" in message


def test_message_query_rules(emu: Emulator) -> None:
    with client(emu, "Mail.Read") as graph:
        def get(**params: str) -> httpx.Response:
            return graph.get("/me/messages", params=params)

        since = "receivedDateTime ge 2000-01-01T00:00:00Z"
        assert error(get(**{"$filter": "isRead eq false", "$orderby": "receivedDateTime desc"}))[1] == "InefficientFilter"
        assert error(get(**{"$filter": f"isRead eq false and {since}", "$orderby": "receivedDateTime desc"}))[1] == "InefficientFilter"
        assert get(**{"$filter": f"{since} and isRead eq false", "$orderby": "receivedDateTime desc"}).status_code == 200
        assert get(**{"$filter": "isRead eq false"}).status_code == 200  # no $orderby: no ordering rule
        assert get(**{"$search": "falcon"}).status_code == 400  # one double-quoted KQL string
        assert get(**{"$search": '"falcon"'}).status_code == 200
        for extra in ({"$filter": "isRead eq false"}, {"$orderby": "receivedDateTime desc"}, {"$skip": "10"}):
            assert get(**{"$search": '"falcon"', **extra}).status_code == 400, extra
        assert get(**{"$top": "1000"}).status_code == 200
        assert get(**{"$top": "1001"}).status_code == 400 and get(**{"$top": "0"}).status_code == 400
        # a $search page links on with an opaque $skiptoken, never $skip
        first = get(**{"$search": '"a"', "$top": "2"}).json()
        assert "%24skiptoken=" in first["@odata.nextLink"] and "%24skip=" not in first["@odata.nextLink"]
        assert graph.get(first["@odata.nextLink"]).status_code == 200


def test_calendar_rules(emu: Emulator) -> None:
    start = datetime.now(timezone.utc).replace(microsecond=0)
    with client(emu, "Calendars.ReadWrite") as graph:
        assert graph.get("/me/calendarView", params={"startDateTime": start.isoformat()}).status_code == 400

        def schedule(days: int = 1, schedules: int = 1, interval: int = 30) -> httpx.Response:
            when = {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}
            until = {"dateTime": (start + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}
            return graph.post("/me/calendar/getSchedule", json={
                "schedules": [emu.user.email] * schedules, "startTime": when, "endTime": until,
                "availabilityViewInterval": interval})

        assert schedule(days=61, interval=1440).status_code == 200
        assert schedule(days=62).status_code == 400
        assert schedule(schedules=20).status_code == 200 and schedule(schedules=21).status_code == 400
        assert schedule(interval=4).status_code == 400 and schedule(interval=1441).status_code == 400
        invitation = next(e for e in emu.graph.events if e["responseStatus"]["response"] == "notResponded")
        answer = graph.post(f"/me/events/{invitation['id']}/tentativelyAccept", json={"comment": "Maybe", "sendResponse": False})
        assert answer.status_code == 400 and "sendResponse" in error(answer)[2]


def test_search_api_and_directory_rules(emu: Emulator) -> None:
    one = {"entityTypes": ["message"], "query": {"queryString": "falcon"}, "from": 0, "size": 5}
    with client(emu, "Mail.Read") as graph:
        assert graph.post("/search/query", json={"requests": [one, one]}).status_code == 400  # one request at a time
        assert graph.post("/search/query", json={"requests": [{**one, "from": -1}]}).status_code == 400
        hits = graph.post("/search/query", json={"requests": [one]}).json()["value"][0]["hitsContainers"][0]
        assert hits["total"] == len(hits["hits"])  # messages: the count on the page
    with client(emu, "User.Read.All") as graph:
        assert error(graph.get("/users", params={"$search": '"displayName:Megan"'}))[1] == "Request_UnsupportedQuery"
        assert graph.get("/users", params={"$count": "true"}).status_code == 400
        assert graph.get("/users", params={"$count": "true"}, headers={"ConsistencyLevel": "eventual"}).status_code == 200
        page = graph.get("/users", params={"$top": "2"}).json()
        assert "%24skiptoken=" in page["@odata.nextLink"] and graph.get("/users", params={"$skip": "2"}).status_code == 400
    with client(emu, "People.Read") as graph:
        assert graph.get("/me/people", params={"$search": '"meg"', "$skip": "1"}).status_code == 400


def test_personal_accounts_lack_schedule_manager_and_message_search() -> None:
    with Emulator(EmulatorUser(name="Pat Doe", email="pat@outlook.example", tid=MSA_TENANT)) as emu:
        with client(emu, "Calendars.Read", "User.Read.All", "Mail.Read") as graph:
            now = {"dateTime": "2030-01-01T09:00:00", "timeZone": "UTC"}
            later = {"dateTime": "2030-01-01T17:00:00", "timeZone": "UTC"}
            schedule = graph.post("/me/calendar/getSchedule", json={"schedules": [emu.user.email], "startTime": now, "endTime": later})
            assert schedule.status_code == 400 and "personal Microsoft accounts" in error(schedule)[2]
            assert graph.get("/me/manager").status_code == 400
            search = {"requests": [{"entityTypes": ["message"], "query": {"queryString": "x"}}]}
            assert graph.post("/search/query", json=search).status_code == 400
            assert graph.get("/me/messages").status_code == 200  # listing mail works for everyone


def test_the_contract_check_fails_on_a_property_graph_does_not_know() -> None:
    assert violations("message", {"id": "1", "subject": "ok", "@odata.etag": "W/1"}) == []
    assert violations("message", {"id": "1", "subjectLine": "no"}) == ["message.subjectLine"]
    assert violations("driveItem", {"value": [{"id": "1", "parentReference": {"driveId": "d", "folderPath": "/x"}}]}) == [
        "driveItem[0].parent_reference.folderPath"]
    emu = Emulator()
    with pytest.raises(AssertionError, match=r"message\[0\]\.spam"):
        with emu:
            emu.graph.messages[0]["spam"] = True
            with client(emu, "Mail.Read") as graph:
                assert graph.get("/me/messages", params={"$top": "1"}).status_code == 200


def test_teams_rules(emu: Emulator) -> None:
    teams = emu.graph.teams
    chat = next(c for c in teams.chats if c["chatType"] == "group")["id"]
    team = teams.teams[0]["id"]
    channel = teams.channels[team][0]["id"]
    with client(emu, "Chat.ReadBasic") as graph:  # chat-list.md: Chat.ReadBasic lists chats, not their messages
        assert graph.get("/me/chats").status_code == 200
        assert graph.get(f"/chats/{chat}/messages").status_code == 403
    with client(emu, "Chat.Read") as graph:
        def chats(**params: str) -> httpx.Response:
            return graph.get("/me/chats", params=params)

        listed = chats(**{"$expand": "members,lastMessagePreview", "$orderby": "lastMessagePreview/createdDateTime desc"})
        previews = [c["lastMessagePreview"]["createdDateTime"] for c in listed.json()["value"]]
        assert previews == sorted(previews, reverse=True) and all(c["members"] for c in listed.json()["value"])
        assert "members" not in chats().json()["value"][0]  # members only with $expand
        assert chats(**{"$top": "50"}).status_code == 200 and chats(**{"$top": "51"}).status_code == 400
        assert chats(**{"$orderby": "lastMessagePreview/createdDateTime asc"}).status_code == 400  # descending only
        assert chats(**{"$expand": "messages"}).status_code == 400 and chats(**{"$select": "topic"}).status_code == 400
        assert [c["chatType"] for c in chats(**{"$filter": "chatType eq 'group'"}).json()["value"]] == ["group"]

        def messages(**params: str) -> httpx.Response:
            return graph.get(f"/chats/{chat}/messages", params=params)

        assert messages(**{"$top": "51"}).status_code == 400 and messages(**{"$select": "body"}).status_code == 400
        assert messages(**{"$orderby": "createdDateTime asc"}).status_code == 400
        assert messages(**{"$orderby": "subject desc"}).status_code == 400
        every = messages().json()["value"]
        newest = every[0]["lastModifiedDateTime"]
        assert [m["lastModifiedDateTime"] for m in every] == sorted((m["lastModifiedDateTime"] for m in every), reverse=True)
        # $filter counts only together with $orderby on the same property; without it the filter is ignored
        assert len(messages(**{"$filter": f"lastModifiedDateTime lt {newest}"}).json()["value"]) == len(every)
        older = messages(**{"$filter": f"lastModifiedDateTime lt {newest}", "$orderby": "lastModifiedDateTime desc"})
        assert len(older.json()["value"]) == len(every) - 1
        assert messages(**{"$filter": f"createdDateTime gt {newest}", "$orderby": "createdDateTime desc"}).status_code == 400
        first = messages(**{"$top": "2"}).json()
        assert "%24skiptoken=" in first["@odata.nextLink"] and "%24top=2" in first["@odata.nextLink"]
        assert len(graph.get(first["@odata.nextLink"]).json()["value"]) == len(every) - 2
        assert graph.post(f"/chats/{chat}/messages", json={"body": {"content": "hi"}}).status_code == 403  # no ChatMessage.Send
        assert error(graph.get("/chats/19:nope@thread.v2/messages"))[:2] == (404, "NotFound")
    with client(emu, "ChatMessage.Send") as graph:
        assert graph.post(f"/chats/{chat}/messages", json={"body": {"content": " "}}).status_code == 400
        assert graph.post(f"/chats/{chat}/messages", json={"body": {"content": "x"}, "text": "x"}).status_code == 400
        sent = graph.post(f"/chats/{chat}/messages", json={"body": {"contentType": "text", "content": "On it"}})
        assert sent.status_code == 201 and sent.json()["body"] == {"contentType": "text", "content": "On it"}
    with client(emu, "Team.ReadBasic.All") as graph:
        joined = graph.get("/me/joinedTeams").json()["value"]
        assert all(set(t) == {"id", "displayName", "description"} for t in joined)  # only these three
        assert graph.get("/me/joinedTeams", params={"$top": "1"}).status_code == 400  # no OData query parameters
        assert graph.get(f"/teams/{team}/channels").status_code == 403
    with client(emu, "Channel.ReadBasic.All") as graph:
        assert graph.get(f"/teams/{team}/channels", params={"$select": "displayName,membershipType"}).status_code == 200
        assert graph.get(f"/teams/{team}/channels", params={"$top": "1"}).status_code == 400
        assert graph.get(f"/teams/{team}/channels/{channel}/messages").status_code == 403  # needs ChannelMessage.Read.All
    with client(emu, "ChannelMessage.Read.All") as graph:
        posts = graph.get(f"/teams/{team}/channels/{channel}/messages", params={"$top": "50"})
        assert posts.status_code == 200 and all(m["replyToId"] is None for m in posts.json()["value"])
        assert graph.get(f"/teams/{team}/channels/{channel}/messages", params={"$top": "51"}).status_code == 400
        assert graph.get(f"/teams/{team}/channels/{channel}/messages", params={"$filter": "subject eq 'x'"}).status_code == 400
        assert graph.get(f"/teams/{team}/channels/{channel}/messages", params={"$expand": "replies"}).status_code == 200
    with client(emu, "ChannelMessage.Send") as graph:
        made = graph.post(f"/teams/{team}/channels/{channel}/messages", json={"subject": "Hi", "body": {"content": "Hello"}})
        assert made.status_code == 201 and made.json()["channelIdentity"] == {"teamId": team, "channelId": channel}
