"""TokenProvider: silent first, one sign-in for many callers, typed errors, device code."""

from __future__ import annotations

import anyio
import pytest

from local_mcp.auth.account import AccountStore
from local_mcp.errors import (
    AuthenticationRequiredError,
    DeviceCodePendingError,
    ResourceParameterError,
    SignInFailedError,
)
from tests.fakes import USER, FakeApp, token_result

GRAPH = "https://graph.example"
USER_READ = [f"{GRAPH}/User.Read"]


def signed_in_app() -> FakeApp:
    app = FakeApp(accounts=[dict(USER)])
    app.tokens[tuple(USER_READ)] = token_result(USER_READ)
    return app


async def test_silent_hit_makes_no_interactive_call(make_provider, settings):
    app = signed_in_app()
    AccountStore(settings.resolved_cache_dir()).save(_record())
    async with make_provider(app=app) as tokens:
        token = await tokens.get_token(GRAPH, ["User.Read"])
    assert token.token == "at-secret"
    assert app.count("silent") == 1
    assert app.count("interactive") == 0


async def test_second_call_is_served_from_memory(make_provider, settings):
    app = signed_in_app()
    AccountStore(settings.resolved_cache_dir()).save(_record())
    async with make_provider(app=app) as tokens:
        await tokens.get_token(GRAPH, ["User.Read"])
        await tokens.get_token(GRAPH, ["User.Read"])
    assert app.count("silent") == 1


async def test_nearly_expired_token_is_not_served_from_memory(make_provider, settings):
    app = signed_in_app()
    app.tokens[tuple(USER_READ)] = token_result(USER_READ, expires_in=120)  # under MSAL's 5-minute margin
    AccountStore(settings.resolved_cache_dir()).save(_record())
    async with make_provider(app=app) as tokens:
        await tokens.get_token(GRAPH, ["User.Read"])
        await tokens.get_token(GRAPH, ["User.Read"])
    assert app.count("silent") == 2


async def test_silent_miss_signs_in_interactively_and_records_the_account(make_provider, fake_app, settings):
    async with make_provider() as tokens:
        token = await tokens.get_token(GRAPH, ["User.Read"])
        status = await tokens.status()
    assert token.token == "at-secret"
    assert fake_app.count("interactive") == 1
    assert fake_app.last_interactive_kwargs["timeout"] == settings.sign_in_timeout
    record = AccountStore(settings.resolved_cache_dir()).load()
    assert record is not None and record.home_account_id == USER["home_account_id"]
    assert record.username == USER["username"]
    assert status.granted_scopes == {GRAPH: ["User.Read"]}
    assert "at-secret" not in repr(status) and "at-secret" not in repr(token)


async def test_refresh_failure_falls_back_to_interactive(make_provider, settings):
    app = FakeApp(accounts=[dict(USER)])
    app.silent_results = [
        {"error": "invalid_grant", "error_description": "AADSTS700082: The refresh token has expired", "error_codes": [700082]},
        None,
    ]
    AccountStore(settings.resolved_cache_dir()).save(_record())
    async with make_provider(app=app) as tokens:
        await tokens.get_token(GRAPH, ["User.Read"])
    assert app.count("interactive") == 1


async def test_transient_token_endpoint_error_does_not_prompt(make_provider, settings):
    app = FakeApp(accounts=[dict(USER)])
    app.silent_results = [{"error": "temporarily_unavailable", "error_description": "AADSTS90033: busy"}]
    AccountStore(settings.resolved_cache_dir()).save(_record())
    async with make_provider(app=app) as tokens:
        with pytest.raises(SignInFailedError, match="try again in a minute"):
            await tokens.get_token(GRAPH, ["User.Read"])
    assert app.count("interactive") == 0


async def test_interaction_can_be_refused(make_provider, fake_app):
    async with make_provider() as tokens:
        with pytest.raises(AuthenticationRequiredError) as info:
            await tokens.get_token(GRAPH, ["Mail.Read"], interactive=False)
    assert info.value.scopes == ["Mail.Read"]
    assert fake_app.count("interactive") == 0


async def test_ten_concurrent_callers_share_one_sign_in(make_provider, fake_app):
    fake_app.interactive_delay = 0.3
    results = []
    async with make_provider() as tokens:

        async def call() -> None:
            results.append(await tokens.get_token(GRAPH, ["User.Read"]))

        async with anyio.create_task_group() as group:
            for _ in range(10):
                group.start_soon(call)
    assert len(results) == 10
    assert fake_app.count("interactive") == 1


async def test_concurrent_refresh_happens_once(make_provider, settings):
    app = FakeApp(accounts=[dict(USER)])
    app.tokens[tuple(USER_READ)] = token_result(USER_READ)
    AccountStore(settings.resolved_cache_dir()).save(_record())
    async with make_provider(app=app) as tokens:
        async with anyio.create_task_group() as group:
            for _ in range(10):
                group.start_soon(tokens.get_token, GRAPH, ["User.Read"])
    assert app.count("silent") == 1


async def test_failed_sign_in_says_what_to_do(make_provider, fake_app):
    fake_app.interactive_results = [
        {"error": "invalid_client", "error_description": "AADSTS7000218: The request body must contain client_assertion", "error_codes": [7000218]}
    ]
    async with make_provider() as tokens:
        with pytest.raises(SignInFailedError, match="Allow public client flows"):
            await tokens.get_token(GRAPH, ["User.Read"])


async def test_browser_timeout_is_a_clear_error(make_provider, fake_app):
    fake_app.interactive_results = [{"error": "timeout", "error_description": "No sign-in completed within 30 seconds."}]
    async with make_provider() as tokens:
        with pytest.raises(SignInFailedError, match="not completed in time"):
            await tokens.get_token(GRAPH, ["User.Read"])


async def test_claims_challenge_bypasses_memory_and_reaches_msal(make_provider, settings):
    app = signed_in_app()
    AccountStore(settings.resolved_cache_dir()).save(_record())
    async with make_provider(app=app) as tokens:
        await tokens.get_token(GRAPH, ["User.Read"])
        await tokens.get_token(GRAPH, ["User.Read"], claims='{"access_token":{"nbf":{"essential":true}}}')
    assert app.count("silent") == 2
    assert app.last_silent_kwargs["claims_challenge"].startswith('{"access_token"')


async def test_resource_is_required(make_provider):
    async with make_provider() as tokens:
        with pytest.raises(ResourceParameterError) as info:
            await tokens.get_token(None, ["User.Read"])
    assert info.value.code == "resource_parameter_required"


async def test_resource_given_twice_is_refused(make_provider, fake_app):
    async with make_provider() as tokens:
        with pytest.raises(ResourceParameterError) as info:
            await tokens.get_token(GRAPH, ["User.Read"], extra_body_params={"resource": GRAPH})
    assert info.value.code == "misplaced_resource_parameter"
    assert fake_app.calls == []  # refused before MSAL is asked anything


async def test_tokens_are_cached_per_resource(make_provider, settings):
    app = signed_in_app()
    other = "api://my-api"
    app.tokens[(f"{other}/Read",)] = token_result([f"{other}/Read"], token="other-token")
    AccountStore(settings.resolved_cache_dir()).save(_record())
    async with make_provider(app=app) as tokens:
        graph_token = await tokens.get_token(GRAPH, ["User.Read"])
        api_token = await tokens.get_token(other, ["Read"])
    assert (graph_token.token, api_token.token) == ("at-secret", "other-token")


async def test_device_code_is_announced_then_completes_in_background(make_provider, settings, fake_app):
    device = settings.with_changes(auth_mode="device_code")
    async with make_provider(s=device) as tokens:
        with pytest.raises(DeviceCodePendingError) as info:
            await tokens.get_token(GRAPH, ["User.Read"])
        assert info.value.prompt.user_code == "ABCD-EFGH"
        assert "device-secret" not in str(info.value)
        # A second caller meanwhile gets the same code, not a second flow.
        with pytest.raises(DeviceCodePendingError):
            await tokens.get_token(GRAPH, ["User.Read"])
        pending = tokens.pending_device_flow()
        assert pending is not None
        await tokens.wait_for_device_flow(pending, 5)
        token = await tokens.get_token(GRAPH, ["User.Read"])
    assert token.token == "at-secret"
    assert fake_app.count("initiate_device_flow") == 1
    assert fake_app.count("device_flow") == 1


async def test_device_code_refusal_is_reported(make_provider, settings, fake_app):
    fake_app.device_result = {
        "error": "access_denied",
        "error_description": "AADSTS53003: Access has been blocked by Conditional Access policies.",
        "error_codes": [53003],
    }
    device = settings.with_changes(auth_mode="device_code")
    async with make_provider(s=device) as tokens:
        with pytest.raises(DeviceCodePendingError):
            await tokens.get_token(GRAPH, ["User.Read"])
        pending = tokens.pending_device_flow()
        with pytest.raises(SignInFailedError, match="LOCAL_MCP_AUTH_MODE=browser"):
            await tokens.wait_for_device_flow(pending, 5)


async def test_sign_out_removes_account_tokens_and_record(make_provider, settings):
    app = signed_in_app()
    store = AccountStore(settings.resolved_cache_dir())
    store.save(_record())
    async with make_provider(app=app) as tokens:
        await tokens.get_token(GRAPH, ["User.Read"])
        removed = await tokens.sign_out()
        status = await tokens.status()
        assert removed == [USER["username"]]
        assert not status.signed_in
        assert store.load() is None
        assert app.accounts == []
        # the next call must sign in again, not use the token held in memory
        await tokens.get_token(GRAPH, ["User.Read"])
    assert app.count("interactive") == 1


def _record():
    from local_mcp.auth.account import AccountRecord

    return AccountRecord(home_account_id=USER["home_account_id"], username=USER["username"], authority="https://login.example/tid-1")


async def test_consent_error_gives_an_admin_consent_link(make_provider, fake_app, settings):
    fake_app.interactive_results = [
        {"error": "invalid_grant", "error_description": "AADSTS65001: The user or administrator has not consented", "error_codes": [65001]}
    ]
    async with make_provider() as tokens:
        with pytest.raises(SignInFailedError) as info:
            await tokens.get_token(GRAPH, ["Mail.Read"])
    message = str(info.value)
    assert f"{settings.authority}/v2.0/adminconsent?client_id={settings.client_id}&scope=" in message
    assert "Mail.Read" in message.split("adminconsent?", 1)[1]
    assert "consent" in message.lower()


@pytest.mark.parametrize(
    ("code", "hint"),
    [(50076, "multi-factor"), (53003, "Conditional Access"), (530032, "security policy"), (700082, "inactivity")],
)
async def test_policy_errors_say_what_to_do(make_provider, fake_app, code, hint):
    fake_app.interactive_results = [{"error": "interaction_required", "error_description": f"AADSTS{code}: x", "error_codes": [code]}]
    async with make_provider() as tokens:
        with pytest.raises(SignInFailedError, match=hint):
            await tokens.get_token(GRAPH, ["User.Read"])


async def test_a_locked_cache_is_a_clear_error(make_provider, settings):
    from msal_extensions import LockError

    from local_mcp.errors import CacheUnavailableError

    class LockedApp(FakeApp):
        def acquire_token_silent_with_error(self, scopes, account, **kwargs):
            raise LockError("could not acquire lock")

    AccountStore(settings.resolved_cache_dir()).save(_record())
    async with make_provider(app=LockedApp(accounts=[dict(USER)])) as tokens:
        with pytest.raises(CacheUnavailableError, match="another process held its lock"):
            await tokens.get_token(GRAPH, ["User.Read"])


async def test_a_busy_cache_lock_is_an_error_never_a_second_refresh(make_provider, settings):
    """The lock itself waits for a live holder; when it gives up, the refresh is not repeated."""
    from local_mcp.auth.cache_lock import LockError
    from local_mcp.errors import CacheUnavailableError

    class BusyApp(FakeApp):
        attempts = 0

        def acquire_token_silent_with_error(self, scopes, account, **kwargs):
            self.attempts += 1
            raise LockError(str(settings.resolved_cache_dir() / "token_cache.bin.lockfile"), 60)

    app = BusyApp(accounts=[dict(USER)])
    AccountStore(settings.resolved_cache_dir()).save(_record())
    async with make_provider(app=app) as tokens:
        with pytest.raises(CacheUnavailableError, match="token cache"):
            await tokens.get_token(GRAPH, ["User.Read"], interactive=False)
    assert app.attempts == 1


async def test_the_silent_call_holds_the_lock_of_its_token(make_provider, settings):
    """Another process asking for the same token waits on this lock, then reads the cache."""
    from local_mcp.auth.cache_lock import FileLock, LockError, refresh_lock_path

    cache = settings.resolved_cache_dir() / "token_cache.bin"
    mine = refresh_lock_path(cache, USER["home_account_id"], GRAPH, *USER_READ)
    other = refresh_lock_path(cache, USER["home_account_id"], GRAPH, f"{GRAPH}/Mail.Read")
    seen = []

    class LockCheckingApp(FakeApp):
        def acquire_token_silent_with_error(self, scopes, account, **kwargs):
            with pytest.raises(LockError):
                with FileLock(mine, timeout=0):
                    pass
            with FileLock(other, timeout=0):  # a different token is not held up
                seen.append(True)
            return super().acquire_token_silent_with_error(scopes, account, **kwargs)

    app = LockCheckingApp(accounts=[dict(USER)])
    app.tokens[tuple(USER_READ)] = token_result(USER_READ)
    AccountStore(settings.resolved_cache_dir()).save(_record())
    async with make_provider(app=app) as tokens:
        token = await tokens.get_token(GRAPH, ["User.Read"])
    assert token.token == "at-secret" and seen == [True]
    assert not mine.exists()


# ----- one device-code sign-in, not one per scope set ------------------------------------------


def _graph(*names: str) -> list[str]:
    return sorted(f"{GRAPH}/{name}" for name in names)


async def test_a_call_for_other_scopes_gets_the_pending_code_and_then_a_silent_token(make_provider, settings):
    import threading

    app = FakeApp(device_gate=threading.Event())
    # Once signed in, the refresh token also yields Mail.Read (consented earlier): no second code.
    app.tokens[tuple(_graph("Mail.Read"))] = token_result(_graph("Mail.Read"), token="mail-token")
    device = settings.with_changes(auth_mode="device_code")
    async with make_provider(s=device, app=app) as tokens:
        with pytest.raises(DeviceCodePendingError) as first:
            await tokens.get_token(GRAPH, ["User.Read"])
        with pytest.raises(DeviceCodePendingError) as second:
            await tokens.get_token(GRAPH, ["Mail.Read"])
        assert second.value.prompt.user_code == first.value.prompt.user_code
        assert app.count("initiate_device_flow") == 1
        pending = tokens.pending_device_flow()
        app.device_gate.set()  # the user enters the code
        await tokens.wait_for_device_flow(pending, 30)
        mail = await tokens.get_token(GRAPH, ["Mail.Read"])
    assert mail.token == "mail-token"
    assert app.count("initiate_device_flow") == 1


async def test_the_next_code_asks_for_the_scopes_of_every_call_that_waited(make_provider, settings):
    import threading

    app = FakeApp(device_gate=threading.Event())
    device = settings.with_changes(auth_mode="device_code")
    async with make_provider(s=device, app=app) as tokens:
        with pytest.raises(DeviceCodePendingError):
            await tokens.get_token(GRAPH, ["User.Read"])
        for scope in ("Mail.Read", "Calendars.Read"):
            with pytest.raises(DeviceCodePendingError) as waiting:
                await tokens.get_token(GRAPH, [scope])
            assert waiting.value.prompt.user_code == "ABCD-EFGH"
        app.device_gate.set()
        await tokens.wait_for_device_flow(tokens.pending_device_flow(), 30)
        # Not consented yet: silent fails, so one more code, for both scopes that waited.
        with pytest.raises(DeviceCodePendingError) as again:
            await tokens.get_token(GRAPH, ["Mail.Read"])
        assert again.value.prompt.user_code != "ABCD-EFGH"
        await tokens.wait_for_device_flow(tokens.pending_device_flow(), 30)
        calendar = await tokens.get_token(GRAPH, ["Calendars.Read"])
        mail = await tokens.get_token(GRAPH, ["Mail.Read"])
    assert app.device_scopes == [_graph("User.Read"), _graph("Calendars.Read", "Mail.Read")]
    assert calendar.token == mail.token == "at-secret"
    assert app.count("initiate_device_flow") == 2
