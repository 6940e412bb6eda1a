"""The local-mcp command: --version, --help, exit code 2 for bad config, status without tokens."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from local_mcp import __version__
from local_mcp.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_help_lists_subcommands_and_env_twins(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for word in ("login", "logout", "status", "LOCAL_MCP_CLIENT_ID", "LOCAL_MCP_AUTH_MODE", "--allow-unencrypted-cache"):
        assert word in out


def test_bad_configuration_exits_2_with_the_reason(capsys, monkeypatch):
    monkeypatch.setenv("LOCAL_MCP_AUTH_MODE", "telepathy")
    assert main(["status"]) == 2
    assert "LOCAL_MCP_AUTH_MODE" in capsys.readouterr().err


def test_status_json_reports_cache_and_no_account(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LOCAL_MCP_ALLOW_UNENCRYPTED_CACHE", "1")
    assert main(["status", "--json", "--cache-dir", str(tmp_path), "--cloud", "usgov"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["signed_in"] is False
    assert data["authority"] == "https://login.microsoftonline.us/organizations"
    assert data["cache"]["path"] in (str(tmp_path / "token_cache.bin"), None)


def test_status_says_where_the_tokens_are(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LOCAL_MCP_ALLOW_UNENCRYPTED_CACHE", "1")
    assert main(["status", "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"Token cache: NOT encrypted (plaintext, mode 0600): file {tmp_path / 'token_cache.bin'}" in out
    assert "Signal file" not in out  # only keyring backends leave an empty signal file


def test_status_without_encryption_or_opt_in_says_how_to_fix_it(tmp_path, capsys):
    assert main(["status", "--json", "--cache-dir", str(tmp_path)]) == 0
    cache = json.loads(capsys.readouterr().out)["cache"]
    assert cache["backend"] is None and "LOCAL_MCP_ALLOW_UNENCRYPTED_CACHE=1" in cache["problem"]


def test_python_dash_m_works_like_the_script():
    out = subprocess.run([sys.executable, "-m", "local_mcp", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"local-mcp {__version__}"


def test_status_permissions_lists_each_tools_scopes(capsys):
    assert main(["status", "--permissions", "--json"]) == 0
    tools = {t["tool"]: t for t in json.loads(capsys.readouterr().out)}
    assert tools["whoami"]["scopes"] == ["User.Read"]
    assert tools["list_messages"]["scopes"] == ["Mail.Read"]
    assert all(t["scopes"] for name, t in tools.items() if name != "graph_request")  # it takes the caller's
    assert tools["send_message"]["write"] is True and tools["send_message"]["scopes"] == ["Mail.Send"]
    assert tools["list_tasks"]["scopes"] == ["Tasks.Read"] and tools["list_tasks"]["area"] == "tasks"
    assert tools["update_task"]["write"] is True and tools["update_task"]["scopes"] == ["Tasks.ReadWrite"]
    assert tools["search_contacts"]["scopes"] == ["Contacts.Read"] and tools["get_contact"]["area"] == "contacts"


def test_status_permissions_lists_the_teams_and_shared_mailbox_scopes(capsys):
    assert main(["status", "--permissions", "--json"]) == 0
    tools = {t["tool"]: t for t in json.loads(capsys.readouterr().out)}
    teams = {name: t["scopes"] for name, t in tools.items() if t["area"] == "teams"}
    assert teams["list_chats"] == teams["list_chat_messages"] == ["Chat.Read"]
    assert teams["list_teams"] == ["Team.ReadBasic.All"] and teams["list_channels"] == ["Channel.ReadBasic.All"]
    assert teams["list_channel_messages"] == ["ChannelMessage.Read.All"]
    assert teams["send_chat_message"][0] == "ChatMessage.Send" and teams["send_channel_message"][0] == "ChannelMessage.Send"
    assert all(tools[n]["write"] for n in ("send_chat_message", "send_channel_message"))
    shared = {name for name, t in tools.items() if "Mail.Read.Shared" in t["alternative_scopes"]}
    assert {"list_messages", "get_message", "download_attachment"} <= shared
    calendars = {name for name, t in tools.items() if "Calendars.Read.Shared" in t["alternative_scopes"]}
    assert {"list_events", "get_event", "list_calendars"} <= calendars
    assert tools["update_event"]["scopes"] == ["Calendars.ReadWrite"] and tools["move_message"]["scopes"] == ["Mail.ReadWrite"]
    main(["status", "--permissions"])
    text = capsys.readouterr().out
    assert "ChannelMessage.Read.All" in text and "or Mail.Read.Shared" in text
