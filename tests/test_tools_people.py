"""People and directory tools through the SDK's in-memory client, with a fake MSAL app and a fake Graph."""

from __future__ import annotations

import re

import httpx
import pytest
from mcp import Client

from local_mcp.tools import people
from tests.graph_fake import GRAPH, call, error, query, scopes_asked, text_of, tool_server

MEGAN = {
    "id": "u-megan", "displayName": "Megan Bowen", "givenName": "Megan", "surname": "Bowen",
    "mail": "megan@contoso.example", "userPrincipalName": "megan@contoso.example", "jobTitle": "Marketing Manager",
    "department": "Marketing", "officeLocation": "131/1104", "businessPhones": ["+1 412 555 0109"], "mobilePhone": None,
}
PERSON = {
    "id": "u-megan", "displayName": "Megan Bowen", "jobTitle": "Marketing Manager", "department": "Marketing",
    "officeLocation": "131/1104", "companyName": "Contoso", "userPrincipalName": "megan@contoso.example",
    "scoredEmailAddresses": [{"address": "megan@contoso.example", "relevanceScore": 20.0}],
    "phones": [{"type": "business", "number": "+1 412 555 0109"}, {"type": "mobile", "number": None}],
    "personType": {"class": "Person", "subclass": "OrganizationUser"},
}


@pytest.fixture
def server(make_provider, settings, graph):
    return tool_server(make_provider, settings, graph)


async def test_people_tools_are_listed_read_only(server):
    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    for name in ("search_people", "get_user", "get_manager"):
        assert tools[name].annotations.read_only_hint is True and tools[name].output_schema
    from local_mcp.tools._common import DECLARED

    assert DECLARED["search_people"].scopes == ("People.Read",)
    assert DECLARED["get_manager"].scopes == ("User.Read.All",)


async def test_search_people_searches_with_people_read_and_pages(server, graph, fake_app):
    graph.answer("GET", re.compile(r"/v1\.0/me/people$"), lambda r: httpx.Response(200, json=(
        {"value": [PERSON], "@odata.nextLink": f"{GRAPH}/me/people?$search=%22meg%22&$top=1&$skip=1"}
        if "$skip" not in query(r)
        else {"value": [PERSON | {"id": "p-2", "displayName": "Megan Smith", "personType": {"class": "Person"}}]}
    )))
    first = await call(server, "search_people", {"query": 'meg"', "limit": 1})
    assert not first.is_error, text_of(first)
    sent = graph.requests[0]
    assert query(sent) == {"$search": '"meg"', "$select": people._PERSON_FIELDS, "$top": "1"}
    assert scopes_asked(fake_app) == {"People.Read"}
    data = first.structured_content
    megan = data["people"][0]
    assert megan["email"] == "megan@contoso.example" and megan["kind"] == "OrganizationUser"
    assert megan["phones"] == [{"type": "business", "number": "+1 412 555 0109"}]  # the empty mobile is dropped
    assert data["page"]["has_more"] is True

    second = await call(server, "search_people", {"query": "meg", "limit": 1, "cursor": data["page"]["cursor"]})
    assert query(graph.requests[-1])["$skip"] == "1"
    assert second.structured_content["people"][0]["name"] == "Megan Smith"
    assert second.structured_content["people"][0]["kind"] == "Person"


async def test_get_user_by_upn_reads_the_full_profile_with_user_read_all(server, graph, fake_app):
    graph.answer("GET", re.compile(r"/v1\.0/users/megan@contoso\.example$"), MEGAN)
    result = await call(server, "get_user", {"user": " megan@contoso.example "})
    assert not result.is_error, text_of(result)
    assert query(graph.requests[0]) == {"$select": people._FULL_USER_FIELDS}
    assert scopes_asked(fake_app) == {"User.Read.All"}
    data = result.structured_content
    assert (data["name"], data["job_title"], data["department"], data["office"]) == (
        "Megan Bowen", "Marketing Manager", "Marketing", "131/1104")
    assert data["business_phones"] == ["+1 412 555 0109"] and data["full_profile"] is True


async def test_get_user_basic_profile_needs_only_user_readbasic_all(server, graph, fake_app):
    graph.answer("GET", re.compile(r"/v1\.0/users/u-megan$"), {k: MEGAN[k] for k in ("id", "displayName", "mail", "userPrincipalName")})
    result = await call(server, "get_user", {"user": "u-megan", "full_profile": False})
    assert not result.is_error, text_of(result)
    assert query(graph.requests[0]) == {"$select": people._BASIC_USER_FIELDS}
    assert scopes_asked(fake_app) == {"User.ReadBasic.All"}
    assert result.structured_content["job_title"] is None and result.structured_content["full_profile"] is False


async def test_get_user_by_email_falls_back_to_a_mail_filter(server, graph):
    graph.answer("GET", re.compile(r"/v1\.0/users/johanna@contoso\.example$"), error(404, "Request_ResourceNotFound"))
    graph.answer("GET", re.compile(r"/v1\.0/users$"), lambda r: httpx.Response(200, json={"value": (
        [MEGAN | {"displayName": "Johanna Lorenz", "userPrincipalName": "jlorenz@contoso.example"}]
        if "johanna" in query(r).get("$filter", "") else [])}))
    found = await call(server, "get_user", {"user": "johanna@contoso.example"})
    assert not found.is_error, text_of(found)
    assert query(graph.requests[-1]) == {
        "$filter": "mail eq 'johanna@contoso.example'", "$select": people._FULL_USER_FIELDS, "$top": "1"}
    assert found.structured_content["user_principal_name"] == "jlorenz@contoso.example"

    graph.answer("GET", re.compile(r"/v1\.0/users/nobody@contoso\.example$"), error(404, "Request_ResourceNotFound"))
    missing = await call(server, "get_user", {"user": "nobody@contoso.example"})
    assert missing.is_error and "No user" in text_of(missing)


@pytest.mark.parametrize("user", ["megan/manager", "../me", "x?y=1", "  "])
async def test_get_user_refuses_anything_but_an_id_upn_or_email(server, graph, user):
    result = await call(server, "get_user", {"user": user})
    assert result.is_error
    assert graph.requests == []


async def test_get_manager_of_the_signed_in_user(server, graph, fake_app):
    graph.answer("GET", re.compile(r"/v1\.0/me/manager$"), MEGAN | {"displayName": "Isaiah Langer", "jobTitle": "Director of Product"})
    result = await call(server, "get_manager", {})
    assert not result.is_error, text_of(result)
    assert query(graph.requests[0]) == {"$select": people._FULL_USER_FIELDS}
    assert scopes_asked(fake_app) == {"User.Read.All"}
    data = result.structured_content
    assert data["of"] == "me" and data["manager"]["job_title"] == "Director of Product"
    assert data["message"] == "Your manager is Isaiah Langer."


async def test_get_manager_of_a_colleague_and_no_manager_is_not_an_error(server, graph):
    graph.answer("GET", re.compile(r"/v1\.0/users/lynne@contoso\.example$"), {"id": "u-lynne", "displayName": "Lynne Robbins"})
    graph.answer("GET", re.compile(r"/v1\.0/users/u-lynne/manager$"), error(404, "Request_ResourceNotFound"))
    result = await call(server, "get_manager", {"user": "lynne@contoso.example"})
    assert not result.is_error, text_of(result)
    assert [r.url.path for r in graph.requests] == ["/v1.0/users/lynne@contoso.example", "/v1.0/users/u-lynne/manager"]
    assert result.structured_content == {"of": "Lynne Robbins", "manager": None, "message": "Lynne Robbins has no manager in the directory."}

    graph.answer("GET", re.compile(r"/v1\.0/users/ghost@contoso\.example$"), error(404, "Request_ResourceNotFound"))
    graph.answer("GET", re.compile(r"/v1\.0/users$"), {"value": []})
    ghost = await call(server, "get_manager", {"user": "ghost@contoso.example"})
    assert ghost.is_error and "No user" in text_of(ghost)


async def test_a_403_asks_for_consent_once_and_retries(server, graph, fake_app):
    answers = iter([error(403, "Authorization_RequestDenied"), httpx.Response(200, json=MEGAN)])
    graph.answer("GET", re.compile(r"/v1\.0/me/manager$"), lambda r: next(answers))
    result = await call(server, "get_manager", {})
    assert not result.is_error, text_of(result)
    assert fake_app.count("interactive") == 2  # the first sign-in, then the consent prompt
    assert len(graph.requests) == 2


@pytest.mark.parametrize("tool", ["get_user", "get_manager"])
async def test_a_guest_upn_with_ext_is_percent_encoded_not_refused(server, graph, tool):
    # issue 9, bug 13: guests' UPNs look like megan_fabrikam.example#EXT#@contoso.example.
    guest = "megan_fabrikam.example#EXT#@contoso.example"
    graph.answer("GET", "/users/megan_fabrikam.example%23EXT%23@contoso.example", {**MEGAN, "id": "u-guest", "userPrincipalName": guest})
    graph.answer("GET", "/users/u-guest/manager", MEGAN)
    result = await call(server, tool, {"user": guest})
    assert not result.is_error, text_of(result)
    assert graph.requests[0].url.raw_path.decode().startswith("/v1.0/users/megan_fabrikam.example%23EXT%23@contoso.example")
