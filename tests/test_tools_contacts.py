"""Outlook contacts tools (search_contacts, get_contact) on the fake Graph."""

from __future__ import annotations

from mcp import Client

from local_mcp.server import create_server
from local_mcp.tools._common import DECLARED
from tests.fakes import FakeApp
from tests.graph_fake import page, query, text_of, tool_server

NICK = {"id": "C1", "displayName": "Nick Fabrikam", "givenName": "Nick", "surname": "Fabrikam",
        "emailAddresses": [{"name": "Nick Fabrikam", "address": "nick@fabrikam.example"}],
        "companyName": "Fabrikam", "jobTitle": "Buyer", "mobilePhone": "+1 206 555 0140", "businessPhones": [],
        "businessAddress": {"street": "1 Main Street", "city": "Redmond", "state": "WA", "postalCode": "98052"},
        "birthday": "1980-05-04T11:59:00Z", "personalNotes": "Met at the summit."}


def client_for(make_provider, settings, graph):
    return Client(tool_server(make_provider, settings, graph, FakeApp()))


def test_contacts_tools_read_only_with_contacts_read(settings):
    create_server(settings)
    for name in ("search_contacts", "get_contact"):
        assert DECLARED[name].scopes == ("Contacts.Read",) and DECLARED[name].area == "contacts" and not DECLARED[name].write


async def test_words_go_as_one_quoted_search(make_provider, settings, graph):
    graph.answer("GET", "/me/contacts", page([NICK], "/me/contacts?$search=%22nick%22&$skip=1"))
    async with client_for(make_provider, settings, graph) as client:
        result = await client.call_tool("search_contacts", {"query": 'nick "fab"', "limit": 1})
    assert not result.is_error, text_of(result)
    sent = query(graph.only("GET", "/me/contacts"))
    assert sent["$search"] == '"nick  fab"' and "$filter" not in sent and sent["$top"] == "1"
    found = result.structured_content["contacts"][0]
    assert (found["name"], found["emails"], found["company"]) == ("Nick Fabrikam", ["nick@fabrikam.example"], "Fabrikam")
    assert result.structured_content["page"]["has_more"] is True


async def test_an_email_address_uses_the_documented_filter(make_provider, settings, graph):
    graph.answer("GET", "/me/contacts", page([NICK]))
    async with client_for(make_provider, settings, graph) as client:
        result = await client.call_tool("search_contacts", {"query": "o'neil@fabrikam.example"})
    assert not result.is_error, text_of(result)
    sent = query(graph.only("GET", "/me/contacts"))
    assert sent["$filter"] == "emailAddresses/any(a:a/address eq 'o''neil@fabrikam.example')" and "$search" not in sent


async def test_a_malformed_address_is_refused(make_provider, settings, graph):
    async with client_for(make_provider, settings, graph) as client:
        result = await client.call_tool("search_contacts", {"query": "nick@"})
    assert result.is_error and graph.requests == []


async def test_get_contact_gives_addresses_birthday_and_notes(make_provider, settings, graph):
    graph.answer("GET", "/me/contacts/C1", NICK)
    async with client_for(make_provider, settings, graph) as client:
        result = await client.call_tool("get_contact", {"contact_id": "C1"})
    assert not result.is_error, text_of(result)
    contact = result.structured_content
    assert contact["business_address"] == "1 Main Street, 98052 Redmond, WA"
    assert (contact["birthday"], contact["notes"], contact["mobile_phone"]) == ("1980-05-04", "Met at the summit.", "+1 206 555 0140")
    assert "personalNotes" in query(graph.only("GET", "/me/contacts/C1"))["$select"]
