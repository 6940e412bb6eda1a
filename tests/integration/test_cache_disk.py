"""The real server on a full disk: auth_status says so, and no sign-in starts (its tokens would be lost).

The cache folder is on a tiny tmpfs filled to the last byte (mounting needs root; elsewhere
the test is skipped and tests/test_cache_space.py covers the same paths without a real disk).
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import ServerSetup

pytestmark = pytest.mark.integration


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A mounted 256 KiB tmpfs with a cache folder in it, then filled up."""
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        folder = mount / "cache"
        folder.mkdir(mode=0o700)
        with open(mount / "filler", "wb", buffering=0) as filler:
            try:
                while True:
                    filler.write(b"\0" * 4096)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


async def test_a_full_disk_is_in_auth_status_and_no_browser_opens(setup: ServerSetup, full_disk: Path):
    setup.env["LOCAL_MCP_CACHE_DIR"] = str(full_disk)
    async with setup.client() as client:
        status = await client.call_tool("auth_status", {})
        whoami = await client.call_tool("whoami", {})
    problem = status.structured_content["cache"]["problem"]
    assert problem.startswith(f"The token cache folder {full_disk} cannot be written (the disk is full")
    assert "Free some disk space" in problem
    assert whoami.is_error
    text = " ".join(getattr(c, "text", "") for c in whoami.content)
    assert "cannot be written (the disk is full" in text
    assert setup.emulator.counts["authorize"] == 0  # the browser never opened
