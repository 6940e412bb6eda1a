"""Several accounts: the account book, and the real MSAL against the emulator (device code, in-process)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anyio
import jwt
import msal
import pytest

from local_mcp.auth.account import AccountRecord, AccountStore
from local_mcp.auth.accounts import MSA_TENANT_ID, pinned_account, refresh_authority
from local_mcp.auth.switching import UnknownAccountError
from local_mcp.auth.tokens import TokenProvider
from local_mcp.config import Settings
from local_mcp.errors import DeviceCodePendingError
from tests.emulator import Emulator, EmulatorUser

ADELE = EmulatorUser(name="Adele Vance", email="adele@contoso.example")
NESTOR = EmulatorUser(name="Nestor Wilke", email="nestor@fabrikam.example", oid="2b3c4d5e-0000-4a1b-8c2d-3e4f5a6b7c8d",
                      tid="4f6a1c2e-0000-4b7d-9e3f-5a6b7c8d9e0f")
MEGAN = EmulatorUser(name="Megan Bowen", email="megan@outlook.example", oid="00000000-0000-0000-6f1a-2b3c4d5e6f70",
                     tid=MSA_TENANT_ID)


# ----- the account record -----------------------------------------------------------------------------


def test_the_one_account_format_is_read_as_a_book_and_written_back_as_one(tmp_path: Path):
    old = {"home_account_id": "o1.t1", "username": "adele@contoso.example", "authority": "https://login.example/t1",
           "granted_scopes": {"https://g": ["User.Read"]}}
    (tmp_path / "account.json").write_text(json.dumps(old))
    store = AccountStore(tmp_path)
    assert store.load() == AccountRecord("o1.t1", "adele@contoso.example", "https://login.example/t1", {"https://g": ["User.Read"]})
    store.save(AccountRecord("o2.t2", "nestor@fabrikam.example", "https://login.example/t1"))
    raw = json.loads((tmp_path / "account.json").read_text())
    assert raw["version"] == 2 and raw["active"] == "o2.t2"
    assert [a["username"] for a in raw["accounts"]] == ["adele@contoso.example", "nestor@fabrikam.example"]
    assert "token" not in (tmp_path / "account.json").read_text().lower()
    book = store.load_book()
    assert book.find("ADELE@contoso.example").home_account_id == "o1.t1"  # type: ignore[union-attr]
    assert book.remove("o2.t2") is not None and book.active == "o1.t1"


def test_personal_accounts_on_common_refresh_on_consumers():
    personal = AccountRecord(f"x.{MSA_TENANT_ID}", "megan@outlook.example", "https://login.example/common")
    work = AccountRecord("x.72f988bf", "adele@contoso.example", "https://login.example/common")
    assert refresh_authority("https://login.example/common", personal) == "https://login.example/consumers"
    assert refresh_authority("https://login.example/common", work) == "https://login.example/common"
    assert refresh_authority("https://login.example/consumers", personal) == "https://login.example/consumers"


# ----- the real MSAL against the emulator -------------------------------------------------------------


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with Emulator(ADELE, users=[NESTOR, MEGAN], device_code_interval=1) as emulator:
        for name, value in emulator.env().items():
            if name != "BROWSER":
                monkeypatch.setenv(name, value)
        yield emulator


def _settings(emu: Emulator, tmp_path: Path, tenant: str | None = None) -> Settings:
    authority = f"{emu.base_url}/{tenant}" if tenant else emu.authority
    return Settings(client_id=emu.client_id, authority=authority, graph_url=emu.graph_url, cache_dir=tmp_path / "cache",
                    auth_mode="device_code", allow_unencrypted_cache=True, sign_in_timeout=30)


def _oid(token: str) -> str:
    return str(jwt.decode(token, options={"verify_signature": False})["oid"])


async def _add(tokens: TokenProvider, emu: Emulator, user: EmulatorUser, scopes: list[str] | None = None) -> None:
    with pytest.raises(DeviceCodePendingError) as pending:
        await tokens.sign_in(emu.graph_resource, scopes or ["User.Read"], add=True)
    emu.approve_device_code(pending.value.prompt.user_code, account=user.email)
    flow = tokens.pending_device_flow()
    assert flow is not None
    await tokens.wait_for_device_flow(flow, 30)


async def test_two_accounts_switch_pin_and_sign_out_one(emu: Emulator, tmp_path: Path):
    graph = emu.graph_resource
    async with TokenProvider(_settings(emu, tmp_path)) as tokens:
        await _add(tokens, emu, ADELE)
        await _add(tokens, emu, NESTOR)
        listed = await tokens.list_accounts()
        assert [(a.username, a.active) for a in listed] == [(ADELE.email, False), (NESTOR.email, True)]
        assert {a.tenant_id for a in listed} == {ADELE.tid, NESTOR.tid}
        pinned_account.set(None)  # a new call
        assert _oid((await tokens.get_token(graph, ["User.Read"])).token) == NESTOR.oid

        started_before = anyio.Event()
        switched = anyio.Event()
        seen: list[str] = []

        async def long_call() -> None:  # a call that started before the switch keeps its account
            pinned_account.set(None)
            seen.append(_oid((await tokens.get_token(graph, ["User.Read"])).token))
            started_before.set()
            await switched.wait()
            seen.append(_oid((await tokens.get_token(graph, ["User.Read"])).token))

        before = emu.counts["token"]
        async with anyio.create_task_group() as group:
            group.start_soon(long_call)
            await started_before.wait()
            await tokens.switch_account(ADELE.email)
            switched.set()
        assert seen == [NESTOR.oid, NESTOR.oid]
        pinned_account.set(None)
        assert _oid((await tokens.get_token(graph, ["User.Read"])).token) == ADELE.oid
        assert emu.counts["token"] == before  # switching came from memory / the cache: no sign-in, no refresh
        status = await tokens.status()
        assert (status.username, status.account_kind, status.account_count) == (ADELE.email, "work or school", 2)

        with pytest.raises(UnknownAccountError, match="nestor@fabrikam.example"):
            await tokens.switch_account("nobody@example.com")
        assert await tokens.sign_out(NESTOR.email) == [NESTOR.email]
        assert [a.username for a in await tokens.list_accounts()] == [ADELE.email]

    async with TokenProvider(_settings(emu, tmp_path)) as tokens:  # a new process: ADELE only, silently
        authorize, device = emu.counts["authorize"], emu.counts["devicecode"]
        assert _oid((await tokens.get_token(graph, ["User.Read"])).token) == ADELE.oid
        assert (emu.counts["authorize"], emu.counts["devicecode"]) == (authorize, device)
        app = msal.PublicClientApplication(emu.client_id, authority=emu.authority, instance_discovery=False,
                                           token_cache=tokens._token_cache)
        assert [a["username"] for a in app.get_accounts()] == [ADELE.email]  # NESTOR's tokens are gone


async def test_a_personal_account_on_common_refreshes_on_consumers(emu: Emulator, tmp_path: Path):
    emu.token_lifetime = 120  # under MSAL's 5-minute margin: every silent request refreshes
    settings = _settings(emu, tmp_path, tenant="common")
    async with TokenProvider(settings) as tokens:
        await _add(tokens, emu, MEGAN)
        status = await tokens.status()
        assert (status.account_kind, status.tenant_id) == ("personal", MSA_TENANT_ID)
    rt = [t for t in emu.refresh_tokens]
    # What the emulator models (and Entra was reported to do): that refresh token fails on /common ...
    app = msal.PublicClientApplication(emu.client_id, authority=settings.authority, instance_discovery=False)
    refused = app.acquire_token_by_refresh_token(rt[-1], [f"{emu.graph_resource}/User.Read"])
    assert refused.get("error") == "invalid_grant" and "AADSTS70000" in refused.get("error_description", "")
    # ... and ours goes to /consumers, where it works.
    emu.identity.token_tenants.clear()
    async with TokenProvider(settings) as tokens:
        token = await tokens.get_token(emu.graph_resource, ["User.Read"])
    assert _oid(token.token) == MEGAN.oid
    assert emu.identity.token_tenants == ["consumers"]


def test_cli_lists_accounts_and_logout_names_an_unknown_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    from local_mcp.cli import main

    store = AccountStore(tmp_path)
    store.save(AccountRecord(f"m.{MSA_TENANT_ID}", "megan@outlook.example", "https://login.example/common"))
    store.save(AccountRecord("a.t1", "adele@contoso.example", "https://login.example/common"))
    flags = ["--cache-dir", str(tmp_path), "--allow-unencrypted-cache", "--authority", "https://127.0.0.1:9/common"]
    assert main(["accounts", "--json", *flags]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(a["username"], a["kind"], a["active"]) for a in listed] == [
        ("megan@outlook.example", "personal", False), ("adele@contoso.example", "work or school", True)]
    assert main(["logout", "--account", "nobody@example.com", *flags]) == 2
    assert "megan@outlook.example" in capsys.readouterr().err
