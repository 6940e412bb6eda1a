"""Fixtures for tests against a real Secret Service keyring (gnome-keyring in a private D-Bus session).

These tests run only under tests/keyring/run_with_keyring.sh, which starts the session with a
fresh, unlocked keyring and tells us its password. Outside it they skip; in CI they fail instead.
The test's own view of the keyring goes through SecretStorage, whatever backend the code uses.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_mcp.auth.secret_service import SCHEMA, SET_ASIDE_SCHEMA
from tests.integration.conftest import emulator, setup  # noqa: F401 - the emulator and server fixtures, reused

BACKENDS = ("libsecret", "secretstorage")
GNOME_KEYRING_INTERNAL = "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface"


def files_containing(needle: str, *roots: Path) -> list[Path]:
    """Every file under `roots` whose bytes contain `needle` (a token must be in none)."""
    return [p for root in roots for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


def libsecret_importable() -> bool:
    try:
        import gi

        gi.require_version("Secret", "1")
        from gi.repository import Secret  # noqa: F401
    except (ImportError, ValueError):
        return False
    return True


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each test runs once through libsecret (PyGObject) and once through SecretStorage."""
    if request.param == "libsecret" and not libsecret_importable():
        pytest.skip("PyGObject with the Secret typelib is not installed (.ci/run installs it)")
    return str(request.param)


class Keyring:
    """The session keyring as the test sees it: items, raw secrets, lock and unlock."""

    def __init__(self) -> None:
        import secretstorage

        self._ss = secretstorage
        self.connection = secretstorage.dbus_init()
        self.collection = secretstorage.get_default_collection(self.connection)
        self.password = os.environ["LOCAL_MCP_TEST_KEYRING_PASSWORD"]
        self.home = Path(os.environ["LOCAL_MCP_TEST_KEYRING_HOME"])

    def items(self, location: Path, schema: str = SCHEMA) -> list[Any]:
        return list(self.collection.search_items({"xdg:schema": schema, "location": str(location)}))

    def secret(self, location: Path) -> bytes:
        items = self.items(location)
        assert len(items) == 1, f"expected one keyring item for {location}, found {len(items)}"
        return bytes(items[0].get_secret())

    def put(self, location: Path, data: bytes) -> None:
        self.collection.create_item("test", {"xdg:schema": SCHEMA, "location": str(location)}, data, replace=True)

    def set_aside(self, location: Path) -> list[Any]:
        return self.items(location, SET_ASIDE_SCHEMA)

    def lock(self) -> None:
        self.collection.lock()
        assert self.collection.is_locked()

    def unlock(self) -> None:
        """gnome-keyring's own unlock-by-password call: no prompt, so it works without a desktop."""
        if not self.collection.is_locked():
            return
        from secretstorage.defines import SS_PATH
        from secretstorage.util import DBusAddressWrapper, format_secret, open_session

        real_path = self._ss.get_collection_by_alias(self.connection, "default").collection_path
        secret = format_secret(open_session(self.connection), self.password.encode(), "text/plain")
        DBusAddressWrapper(SS_PATH, GNOME_KEYRING_INTERNAL, self.connection).call(
            "UnlockWithMasterPassword", "o(oayays)", real_path, secret
        )
        assert not self.collection.is_locked()

    def remove_items_under(self, root: Path) -> None:
        for item in list(self.collection.get_all_items()):
            if item.get_attributes().get("location", "").startswith(str(root)):
                item.delete()

    def close(self) -> None:
        self.connection.close()


@pytest.fixture
def keyring(tmp_path: Path) -> Iterator[Keyring]:
    ring = Keyring()
    try:
        yield ring
    finally:
        ring.unlock()
        ring.remove_items_under(tmp_path)
        ring.close()


@pytest.fixture
def bus_without_secret_service() -> Iterator[str]:
    """A second D-Bus session bus that has no Secret Service and cannot start one."""
    with tempfile.TemporaryDirectory(prefix="local-mcp-bus-") as directory:
        config = Path(directory, "bus.conf")
        config.write_text(
            f"<busconfig><type>session</type><listen>unix:dir={directory}</listen>"
            "<auth>EXTERNAL</auth>"
            "<policy context='default'><allow send_destination='*' eavesdrop='true'/>"
            "<allow eavesdrop='true'/><allow own='*'/></policy></busconfig>\n"
        )
        daemon = subprocess.Popen(
            ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        try:
            assert daemon.stdout is not None
            address = daemon.stdout.readline().strip()
            assert address.startswith("unix:"), address
            yield address
        finally:
            daemon.terminate()
            daemon.wait(timeout=10)
