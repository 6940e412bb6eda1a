"""Eight processes refreshing tokens on one plaintext cache (the keyring variants are in tests/keyring/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_mcp.auth.cache import open_token_cache
from local_mcp.config import Settings
from tests.integration.cache_stress import check_cache, check_outcome, run_stress
from tests.integration.conftest import base_env

pytestmark = pytest.mark.integration


def test_eight_processes_refreshing_50_times_lose_nothing(emulator, tmp_path: Path, monkeypatch):
    env = base_env(emulator, tmp_path)
    env["LOCAL_MCP_LOG_LEVEL"] = "WARNING"
    outcome = run_stress(emulator, env, tmp_path)
    check_outcome(outcome, emulator)
    assert {r["backend"] for r in outcome.results} == {"plaintext"}

    settings = Settings.load(env)
    cache, _ = open_token_cache(settings)
    check_cache(cache, settings.resolved_cache_dir(), emulator)
    print(f"stress (plaintext): {outcome.seconds:.1f} s")
