"""Account tools through the SDK's in-memory client, with a fake MSAL app and a fake Graph."""

from __future__ import annotations

import json

import pytest
from mcp import Client
from mcp_types import ElicitResult

from local_mcp.auth.account import AccountRecord, AccountStore
from tests.fakes import USER, FakeApp, token_result
from tests.graph_fake import FakeGraph, tool_server

ME = {"id": "oid-1", "displayName": "Adele Vance", "mail": "adele@contoso.example", "userPrincipalName": "adele@contoso.example"}


@pytest.fixture
def graph():
    graph = FakeGraph()
    graph.answer("GET", "/me", ME)
    return graph


@pytest.fixture
def server_for(make_provider, graph):
    return lambda settings=None, app=None: tool_server(make_provider, settings, graph, app)


def _signed_in(settings) -> FakeApp:
    app = FakeApp(accounts=[dict(USER)])
    app.tokens[("https://graph.example/User.Read",)] = token_result(["https://graph.example/User.Read"])
    AccountStore(settings.resolved_cache_dir()).save(
        AccountRecord(USER["home_account_id"], USER["username"], settings.authority, {"https://graph.example": ["User.Read"]})
    )
    return app


async def test_tools_are_listed_with_annotations(server_for):
    async with Client(server_for()) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert {"whoami", "sign_in", "sign_out", "auth_status"} <= set(tools)
    assert tools["whoami"].annotations.read_only_hint is True
    assert tools["sign_out"].annotations.destructive_hint is True
    assert all(t.description and t.output_schema for t in tools.values())


async def test_whoami_greets_the_signed_in_user(server_for, settings, graph):
    app = _signed_in(settings)
    async with Client(server_for(app=app)) as client:
        result = await client.call_tool("whoami", {})
    assert not result.is_error, result.content
    assert result.structured_content["greeting"] == "Hello, Adele Vance (adele@contoso.example)"
    assert result.structured_content["id"] == "oid-1"
    sent = graph.requests[0]
    assert sent.headers["Authorization"] == "Bearer at-secret"
    assert "%24select=" in str(sent.url) or "$select=" in str(sent.url)
    assert app.count("interactive") == 0


async def test_graph_error_becomes_a_tool_error_with_next_step(make_provider, settings):
    graph = FakeGraph()
    graph.fail("GET", "/me", 403, "ErrorAccessDenied", "Access is denied.")
    async with Client(tool_server(make_provider, settings, graph, _signed_in(settings))) as client:
        result = await client.call_tool("whoami", {})
    assert result.is_error
    text = result.content[0].text
    assert "GET /v1.0/me: 403 Forbidden (ErrorAccessDenied)" in text
    assert 'sign_in tool with scopes=["User.Read"]' in text and "req-42" in text


async def test_auth_status_never_contains_a_token(server_for, settings):
    async with Client(server_for(app=_signed_in(settings))) as client:
        await client.call_tool("whoami", {})
        result = await client.call_tool("auth_status", {})
    data = result.structured_content
    assert data["signed_in"] is True and data["username"] == USER["username"]
    assert data["cache"]["backend"] == "plaintext"
    assert data["granted_scopes"] == {"https://graph.example": ["User.Read"]}
    assert "at-secret" not in json.dumps(data) and "at-secret" not in result.content[0].text


async def test_account_tools_read_as_compact_text_too(server_for, settings):
    async with Client(server_for(app=_signed_in(settings))) as client:
        await client.call_tool("whoami", {})
        results = {name: await client.call_tool(name, {}) for name in ("auth_status", "list_accounts")}
    for name, result in results.items():
        text = result.content[0].text
        structured = json.dumps(result.structured_content, separators=(",", ":"))
        assert not text.lstrip().startswith("{") and len(text) < len(structured), (name, text)
    assert f"username: {USER['username']}" in results["auth_status"].content[0].text
    assert USER["username"] in results["list_accounts"].content[0].text.splitlines()[1]  # one line per account


async def test_sign_out_then_whoami_signs_in_again(server_for, settings):
    app = _signed_in(settings)
    async with Client(server_for(app=app)) as client:
        out = await client.call_tool("sign_out", {})
        assert out.structured_content["signed_out"] is True
        again = await client.call_tool("whoami", {})
    assert not again.is_error
    assert app.count("interactive") == 1


async def test_sign_in_asks_for_the_requested_scopes(server_for, settings):
    app = _signed_in(settings)
    async with Client(server_for(app=app)) as client:
        result = await client.call_tool("sign_in", {"scopes": ["Mail.Read"]})
    assert not result.is_error, result.content
    assert "Mail.Read" in result.structured_content["granted_scopes"]
    assert app.count("interactive") == 1


async def test_wrong_arguments_are_a_clear_error(server_for):
    async with Client(server_for()) as client:
        result = await client.call_tool("sign_in", {"scopes": "Mail.Read", "force": "very"})
    assert result.is_error


async def test_device_code_without_elicitation_returns_the_code_then_succeeds(server_for, settings):
    device = settings.with_changes(auth_mode="device_code")
    app = FakeApp(device_flow_delay=0.5)
    async with Client(server_for(settings=device, app=app)) as client:
        first = await client.call_tool("whoami", {})
        assert first.is_error
        text = first.content[0].text
        assert "https://login.example/device" in text and "ABCD-EFGH" in text and "call the tool again" in text
        assert "device-secret" not in text
        second = await client.call_tool("whoami", {})  # waits for the background sign-in
    assert not second.is_error, second.content
    assert app.count("initiate_device_flow") == 1


async def test_tools_needing_other_scopes_get_the_same_code_while_a_sign_in_waits(server_for, settings, monkeypatch):
    import threading

    import local_mcp.tools._runtime as runtime

    monkeypatch.setattr(runtime, "REPEAT_CALL_WAIT_SECONDS", 0.2)  # how long a repeated call waits for the user
    device = settings.with_changes(auth_mode="device_code")
    app = FakeApp(device_gate=threading.Event())
    async with Client(server_for(settings=device, app=app)) as client:
        first = await client.call_tool("whoami", {})
        other = await client.call_tool("sign_in", {"scopes": ["Mail.Read"]})
        assert first.is_error and other.is_error
        for result in (first, other):
            text = result.content[0].text
            assert "ABCD-EFGH" in text and "local-mcp login" in text
        assert app.count("initiate_device_flow") == 1
        app.device_gate.set()  # the user enters the one code
        done = await client.call_tool("whoami", {})
    assert not done.is_error, done.content
    assert app.count("initiate_device_flow") == 1


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_device_code_reaches_the_user_by_url_elicitation(server_for, settings, mode):
    device = settings.with_changes(auth_mode="device_code")
    app = FakeApp(device_flow_delay=0.5)
    seen = []

    async def on_elicit(context, params):
        seen.append(params)
        return ElicitResult(action="accept")

    async with Client(server_for(settings=device, app=app), mode=mode, elicitation_callback=on_elicit) as client:
        result = await client.call_tool("whoami", {})
    assert not result.is_error, result.content
    assert result.structured_content["greeting"].startswith("Hello, Adele Vance")
    assert len(seen) == 1
    assert seen[0].mode == "url" and seen[0].url == "https://login.example/device"
    assert "ABCD-EFGH" in seen[0].message


async def test_declined_elicitation_is_a_clear_error(server_for, settings):
    device = settings.with_changes(auth_mode="device_code")

    async def decline(context, params):
        return ElicitResult(action="decline")

    async with Client(server_for(settings=device, app=FakeApp(device_flow_delay=5)), mode="legacy", elicitation_callback=decline) as client:
        result = await client.call_tool("whoami", {})
    assert result.is_error and "declined" in result.content[0].text


async def test_browser_sign_in_sends_progress_while_it_waits(server_for, monkeypatch):
    import local_mcp.auth.progress as progress_module

    monkeypatch.setattr(progress_module, "PROGRESS_INTERVAL_SECONDS", 0.1)
    app = FakeApp(interactive_delay=0.5)
    updates = []

    async def on_progress(progress, total, message):
        updates.append((progress, total, message))

    async with Client(server_for(app=app)) as client:
        result = await client.call_tool("whoami", {}, progress_callback=on_progress)
    assert not result.is_error, result.content
    assert len(updates) >= 3
    assert all("sign in" in message for _, _, message in updates)
    assert updates[0][1] == 30  # total: the sign-in timeout


async def test_browser_sign_in_shows_its_address_in_the_progress_message(server_for):
    app = FakeApp(interactive_delay=0.3)
    messages = []

    async def on_progress(progress, total, message):
        messages.append(message)

    async with Client(server_for(app=app)) as client:  # 2026-07-28: no elicitation mid-call
        result = await client.call_tool("whoami", {}, progress_callback=on_progress)
    assert not result.is_error, result.content
    port = app.last_interactive_kwargs["port"]
    assert "welcome_template" in app.last_interactive_kwargs  # MSAL opens (and serves) that address
    assert messages and f"open http://localhost:{port}?welcome=true" in messages[0]


async def test_browser_sign_in_offers_its_address_by_url_elicitation(server_for):
    import threading

    app = FakeApp(interactive_gate=threading.Event())  # no browser window: the sign-in waits for the person
    seen = []

    async def on_elicit(context, params):
        seen.append(params)
        app.interactive_gate.set()  # the person opens the address from the client and signs in
        return ElicitResult(action="accept")

    async with Client(server_for(app=app), mode="legacy", elicitation_callback=on_elicit) as client:
        result = await client.call_tool("whoami", {})
    assert not result.is_error, result.content
    assert len(seen) == 1 and seen[0].mode == "url"
    assert seen[0].url == f"http://localhost:{app.last_interactive_kwargs['port']}?welcome=true"
    assert seen[0].url in seen[0].message


async def test_browser_address_reaches_2026_07_28_clients_as_input_required_one_sign_in_each(server_for, settings):
    """The call ends with the address (URL elicitation) while the sign-in waits in the background; the
    client's retry waits for it. sign_in(add=true) is that one sign-in, not a second window on the retry."""
    import threading

    app = FakeApp(interactive_gate=threading.Event())  # no browser window: the sign-in waits for the person
    seen = []

    async def on_elicit(context, params):
        seen.append(params)
        app.interactive_gate.set()  # the person opens the address from the client and signs in
        return ElicitResult(action="accept")

    async with Client(server_for(app=app), elicitation_callback=on_elicit) as client:
        me = await client.call_tool("whoami", {})
        assert app.count("interactive") == 1 and len(seen) == 1
        app.interactive_gate = threading.Event()
        added = await client.call_tool("sign_in", {"add": True})
    assert not me.is_error and not added.is_error, (me.content, added.content)
    assert [p.mode for p in seen] == ["url", "url"]
    assert seen[1].url == f"http://localhost:{app.last_interactive_kwargs['port']}?welcome=true"
    assert all(p.url in p.message for p in seen)
    assert app.count("interactive") == 2  # one window each, none again on the retries


async def test_a_browser_sign_in_that_finishes_by_itself_needs_no_prompt_on_2026_07_28(server_for):
    """Single sign-on: the browser finishes within browser_flow.QUICK_SECONDS, so the address is never shown."""
    app = FakeApp(interactive_delay=0.5)
    seen = []

    async def on_elicit(context, params):
        seen.append(params)
        return ElicitResult(action="accept")

    async with Client(server_for(app=app), elicitation_callback=on_elicit) as client:
        me = await client.call_tool("whoami", {})
    assert not me.is_error, me.content
    assert seen == [] and app.count("interactive") == 1


async def test_a_failed_background_browser_sign_in_reaches_the_retry_with_its_reason(server_for):
    app = FakeApp(interactive_results=[{"error": "access_denied", "error_description": "AADSTS65004: User declined to consent"}])

    async def on_elicit(context, params):
        return ElicitResult(action="accept")

    async with Client(server_for(app=app), elicitation_callback=on_elicit) as client:
        result = await client.call_tool("whoami", {})
    assert result.is_error and "declined" in result.content[0].text.lower(), result.content
    assert app.count("interactive") == 1


async def test_tools_list_stays_read_only_by_default(server_for, settings):
    async with Client(server_for()) as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert "list_messages" in names
    from local_mcp.tools._common import DECLARED

    writes = {name for name, info in DECLARED.items() if info.write}
    assert not names & writes


async def test_sign_in_is_also_announced_as_a_log_notification(server_for):
    app = FakeApp(interactive_delay=0.2)
    logs = []

    async def on_log(params):
        logs.append(params)

    async with Client(server_for(app=app), mode="legacy", logging_callback=on_log) as client:
        result = await client.call_tool("whoami", {})
    assert not result.is_error, result.content
    assert len(logs) == 1 and "sign in" in str(logs[0].data)
    assert logs[0].logger == "local-mcp.sign-in"
