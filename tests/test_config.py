"""Settings: env twins, defaults, clouds, validation with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_mcp.config import DEFAULT_CLIENT_ID, Settings
from local_mcp.errors import ConfigError


def test_defaults_are_the_public_cloud_and_the_graph_cli_app():
    s = Settings.load(environ={})
    assert s.client_id == DEFAULT_CLIENT_ID
    assert s.authority == "https://login.microsoftonline.com/organizations"
    assert s.graph_url == "https://graph.microsoft.com/v1.0"
    assert s.graph_resource == "https://graph.microsoft.com"
    assert s.auth_mode == "auto"
    assert s.allow_unencrypted_cache is False
    assert s.sign_in_timeout == 300
    assert s.authority_is_known_to_microsoft


@pytest.mark.parametrize(
    ("cloud", "authority", "graph"),
    [
        ("usgov", "https://login.microsoftonline.us/contoso.onmicrosoft.com", "https://graph.microsoft.us/v1.0"),
        ("china", "https://login.partner.microsoftonline.cn/contoso.onmicrosoft.com", "https://microsoftgraph.chinacloudapi.cn/v1.0"),
    ],
)
def test_cloud_sets_authority_and_graph_together(cloud, authority, graph):
    s = Settings.load(environ={"LOCAL_MCP_CLOUD": cloud, "LOCAL_MCP_TENANT_ID": "contoso.onmicrosoft.com"})
    assert (s.authority, s.graph_url) == (authority, graph)


def test_custom_authority_and_graph_url_override_the_cloud():
    s = Settings.load(
        environ={
            "LOCAL_MCP_AUTHORITY": "https://127.0.0.1:8443/tenant-x/",
            "LOCAL_MCP_GRAPH_URL": "https://127.0.0.1:8443/v1.0/",
            "LOCAL_MCP_AUTH_MODE": "device-code",
            "LOCAL_MCP_ALLOW_UNENCRYPTED_CACHE": "1",
            "LOCAL_MCP_SIGN_IN_TIMEOUT": "60",
            "LOCAL_MCP_CACHE_DIR": "~/somewhere",
        }
    )
    assert s.authority == "https://127.0.0.1:8443/tenant-x"
    assert s.graph_url == "https://127.0.0.1:8443/v1.0"
    assert s.graph_resource == "https://127.0.0.1:8443"
    assert s.graph_host == "127.0.0.1"
    assert not s.authority_is_known_to_microsoft
    assert s.auth_mode == "device_code"
    assert s.allow_unencrypted_cache is True
    assert s.sign_in_timeout == 60
    assert s.cache_dir == Path("~/somewhere").expanduser()


def test_keyring_backend_defaults_to_auto_and_reads_env_and_flag():
    assert Settings.load(environ={}).keyring_backend == "auto"
    assert Settings.load(environ={"LOCAL_MCP_KEYRING_BACKEND": "SecretStorage"}).keyring_backend == "secretstorage"
    assert Settings.load(environ={}, overrides={"keyring_backend": "libsecret"}).keyring_backend == "libsecret"


def test_flags_win_over_environment():
    s = Settings.load(environ={"LOCAL_MCP_AUTH_MODE": "browser"}, overrides={"auth_mode": "device_code"})
    assert s.auth_mode == "device_code"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LOCAL_MCP_CLIENT_ID": "not-a-guid"}, "LOCAL_MCP_CLIENT_ID"),
        ({"LOCAL_MCP_TENANT_ID": "bad tenant!"}, "LOCAL_MCP_TENANT_ID"),
        ({"LOCAL_MCP_CLOUD": "mars"}, "LOCAL_MCP_CLOUD"),
        ({"LOCAL_MCP_AUTHORITY": "http://login.example/t"}, "https"),
        ({"LOCAL_MCP_GRAPH_URL": "https://graph.example"}, "version"),
        ({"LOCAL_MCP_AUTH_MODE": "carrier-pigeon"}, "LOCAL_MCP_AUTH_MODE"),
        ({"LOCAL_MCP_ALLOW_UNENCRYPTED_CACHE": "maybe"}, "1 or 0"),
        ({"LOCAL_MCP_SIGN_IN_TIMEOUT": "soon"}, "seconds"),
        ({"LOCAL_MCP_SIGN_IN_TIMEOUT": "1"}, "between"),
        ({"LOCAL_MCP_LOG_LEVEL": "LOUD"}, "LOCAL_MCP_LOG_LEVEL"),
        ({"LOCAL_MCP_KEYRING_BACKEND": "kwallet"}, "auto, libsecret, secretstorage"),
        ({"LOCAL_MCP_HTTP_SESSIONS": "sticky"}, "LOCAL_MCP_HTTP_SESSIONS must be 1 or 0"),
    ],
)
def test_bad_values_are_clear_errors(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.load(environ=env)


def test_cache_dir_defaults_to_platformdirs_lazily(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    s = Settings.load(environ={})
    assert s.cache_dir is None
    assert s.resolved_cache_dir() == tmp_path / "local-mcp"


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("true", True), ("ON", True), ("yes", True),
                                                ("0", False), ("false", False), ("off", False), ("", False)])
def test_http_sessions_reads_like_the_other_switches(raw, expected):
    assert Settings.load(environ={}).http_sessions is False  # off unless asked for
    assert Settings.load(environ={"LOCAL_MCP_HTTP_SESSIONS": raw}).http_sessions is expected


def test_http_sessions_flag_wins_over_environment():
    from local_mcp.cli import _overrides, build_parser

    args = build_parser().parse_args(["serve", "--http-sessions"])
    assert Settings.load(environ={"LOCAL_MCP_HTTP_SESSIONS": "0"}, overrides=_overrides(args)).http_sessions is True
    unset = build_parser().parse_args(["serve"])
    assert Settings.load(environ={"LOCAL_MCP_HTTP_SESSIONS": "1"}, overrides=_overrides(unset)).http_sessions is True
