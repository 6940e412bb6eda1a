"""Several accounts through the real `local-mcp` process: add, switch, sign out one (real MSAL, the emulator)."""

from __future__ import annotations

import pytest

from tests.emulator import Emulator
from tests.integration.conftest import USER, ServerSetup, assert_stdout_is_json_rpc, base_env
from tests.test_accounts import NESTOR

pytestmark = pytest.mark.integration


def text_of(result) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


async def call(client, name: str, arguments: dict) -> dict:
    result = await client.call_tool(name, arguments)
    assert not result.is_error, f"{name}: {text_of(result)}"
    return result.structured_content


async def sender_domains(client) -> set[str]:
    data = await call(client, "list_messages", {"limit": 5})
    return {m["sender"]["email"].rpartition("@")[2] for m in data["messages"] if m.get("sender")}


async def test_two_accounts_switch_without_signing_in_and_sign_out_keeps_the_other(tmp_path):
    with Emulator(USER, users=[NESTOR]) as emu:
        setup = ServerSetup(emulator=emu, root=tmp_path, env=base_env(emu, tmp_path))
        async with setup.client() as client:
            assert (await call(client, "whoami", {}))["email"] == USER.email  # the browser's session: Adele
            emu.choose_account(NESTOR.email)  # at the account picker, the user picks Nestor
            added = await call(client, "sign_in", {"add": True})
            assert added["username"] == NESTOR.email
            assert emu.counts["account_picker"] == 2  # no login_hint either time: the user picked
            assert (await call(client, "whoami", {}))["email"] == NESTOR.email
            assert await sender_domains(client) == {NESTOR.domain}
            listed = await call(client, "list_accounts", {})
            assert [(a["username"], a["active"]) for a in listed["accounts"]] == [(USER.email, False), (NESTOR.email, True)]

            sign_ins = emu.counts["authorize"]
            switched = await call(client, "switch_account", {"account": USER.email})
            assert switched["ready"] is True
            assert (await call(client, "whoami", {}))["email"] == USER.email
            assert await sender_domains(client) == {USER.domain}
            await call(client, "switch_account", {"account": listed["accounts"][1]["home_account_id"]})
            assert (await call(client, "whoami", {}))["email"] == NESTOR.email
            assert emu.counts["authorize"] == sign_ins  # switching never signs in

            out = await call(client, "sign_out", {"account": USER.email})
            assert out["usernames"] == [USER.email]
            assert [a["username"] for a in (await call(client, "list_accounts", {}))["accounts"]] == [NESTOR.email]
            status = await call(client, "auth_status", {})
            assert (status["username"], status["account_kind"], status["accounts_remembered"]) == (NESTOR.email, "work or school", 1)
            bad = await client.call_tool("switch_account", {"account": "nobody@example.com"})
            assert bad.is_error and "list_accounts" in text_of(bad)
        async with setup.client() as client:  # a new process: Nestor, silently
            assert (await call(client, "whoami", {}))["email"] == NESTOR.email
        assert emu.counts["authorize"] == sign_ins
        assert_stdout_is_json_rpc(setup)
