"""Files planted in the cache folder, met by the real server: nothing in them runs."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from tests.integration.conftest import ServerSetup

pytestmark = pytest.mark.integration


class Payload:
    """Unpickling this creates `marker`: proof that a pickle was loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


async def test_planted_pickles_are_never_loaded_and_the_metadata_cache_is_json(setup: ServerSetup):
    cache_dir = setup.cache_dir
    cache_dir.mkdir(mode=0o700, parents=True)
    marker = setup.root / "code-ran"
    (cache_dir / "msal_http_cache.bin").write_bytes(pickle.dumps(Payload(marker)))  # the old name
    (cache_dir / "msal_http_cache.json").write_bytes(pickle.dumps(Payload(marker)))  # and the new one
    async with setup.client() as client:
        result = await client.call_tool("whoami", {})
    assert not result.is_error
    assert not marker.exists()
    assert not (cache_dir / "msal_http_cache.bin").exists()
    saved = json.loads((cache_dir / "msal_http_cache.json").read_text())
    assert saved["version"] == 1 and any("openid-configuration" in r["key"] for r in saved["responses"])

    setup.emulator.reset_counts()
    async with setup.client() as client:  # the next process reads it: no discovery request
        assert not (await client.call_tool("whoami", {})).is_error
    assert setup.emulator.counts["openid_configuration"] == 0
