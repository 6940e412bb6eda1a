"""The Claude Desktop bundle (manifest.json, MCPB) and the MCP Registry entry (server.json) match the program.

.ci/run also validates manifest.json with the official `mcpb` CLI and packs the bundle; these
checks are what a schema cannot know: versions, setting names, defaults, and that the values a
client passes are values the server accepts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from local_mcp._version import __version__
from local_mcp.config import AUTH_MODES, DEFAULT_CLIENT_ID, DEFAULT_TENANT, SETTINGS, Settings

ROOT = Path(__file__).parents[1]
ENV_NAMES = {s.env for s in SETTINGS}


def load(name: str) -> dict:
    return json.loads((ROOT / name).read_text(encoding="utf-8"))


def test_bundle_manifest_matches_the_program() -> None:
    manifest = load("manifest.json")
    assert manifest["version"] == __version__
    server = manifest["server"]
    assert (ROOT / server["entry_point"]).is_file()
    assert server["mcp_config"]["args"][-1] == "local-mcp"  # the console script of pyproject.toml
    assert 'local-mcp = "local_mcp.cli:main"' in (ROOT / "pyproject.toml").read_text()
    env = server["mcp_config"]["env"]
    assert set(env) <= ENV_NAMES
    config = manifest["user_config"]
    for value in env.values():  # every ${user_config.x} names an option, and every option is used
        assert re.fullmatch(r"\$\{user_config\.(\w+)\}", value) and value[14:-1] in config
    assert {v[14:-1] for v in env.values()} == set(config)
    assert config["client_id"]["default"] == DEFAULT_CLIENT_ID
    assert config["tenant_id"]["default"] == DEFAULT_TENANT
    assert config["allow_writes"]["default"] is False


@pytest.mark.parametrize("given, expected", [("true", True), ("false", False)])
def test_the_bundles_boolean_reaches_the_server_as_a_value_it_accepts(given: str, expected: bool) -> None:
    # Claude Desktop substitutes a boolean user_config as "true" / "false" (MCPB MANIFEST.md).
    assert Settings.load({"LOCAL_MCP_ALLOW_WRITES": given}).allow_writes is expected


def test_registry_entry_matches_the_program_and_the_registry_rules() -> None:
    entry = load("server.json")
    # The registry's rules (modelcontextprotocol/registry docs/reference/server-json): reverse-DNS
    # name with one slash, description of at most 100 characters, exact versions.
    assert re.fullmatch(r"[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+", entry["name"])
    assert 1 <= len(entry["description"]) <= 100
    assert entry["version"] == __version__
    (package,) = entry["packages"]
    assert package["registryType"] == "pypi" and package["identifier"] == "local-mcp"
    assert package["version"] == __version__ and package["transport"] == {"type": "stdio"}
    variables = {v["name"]: v for v in package["environmentVariables"]}
    assert set(variables) <= ENV_NAMES
    assert variables["LOCAL_MCP_CLIENT_ID"]["default"] == DEFAULT_CLIENT_ID
    assert variables["LOCAL_MCP_TENANT_ID"]["default"] == DEFAULT_TENANT
    assert variables["LOCAL_MCP_AUTH_MODE"]["choices"] == list(AUTH_MODES)
    # PyPI ownership check of the registry: the package's README names the server.
    assert f"mcp-name: {entry['name']}" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_bundle_leaves_out_what_is_not_the_package() -> None:
    ignored = (ROOT / ".mcpbignore").read_text().split()
    assert {"tests/", "benchmarks/", ".ci-venv/", ".git/"} <= set(ignored)
