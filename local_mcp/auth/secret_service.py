"""Linux: the token cache as one item in the Secret Service keyring (gnome-keyring, KWallet, KeePassXC).

Two ways to reach the keyring, tried in this order by cache.py (LOCAL_MCP_KEYRING_BACKEND
picks one):

    libsecret      libsecret through PyGObject (msal-extensions' LibSecretAgent), when `gi` and
                   the Secret typelib (gir1.2-secret-1) are installed. PyGObject ships no
                   wheels, so under `uvx` it usually is not.
    secretstorage  the same D-Bus API in pure Python (SecretStorage on jeepney), a dependency
                   of local-mcp on Linux: a plain `uvx local-mcp` always has it.

Both store the same item, so either reads what the other wrote:

    attributes  xdg:schema = local_mcp.TokenCache, location = <absolute path of token_cache.bin>
    label       "local-mcp token cache"
    secret      MSAL's cache JSON, text/plain

Both are msal-extensions persistences, so PersistedTokenCache keeps its cross-process lock
and reload-on-change. The tokens never touch the disk: `token_cache.bin` stays an empty
*signal file*, as in msal-extensions' LibsecretPersistence: its mtime tells every
PersistedTokenCache when to reload, and `token_cache.bin.lockfile` next to it keeps writers
in turn. The mtime is set from `time.time_ns()` rather than left to the kernel: many kernels
stamp files from a coarse clock that can lag `time.time()` by a tick, PersistedTokenCache
compares the two, and with a lagging stamp a process could miss another's write and later
write over it.

An item that cannot be parsed is set aside, never deleted: it gets the schema
`local_mcp.TokenCache.SetAside`, a `set_aside_at` attribute and a label saying so, and the
signal file goes; the next save writes a fresh item.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from msal_extensions.persistence import BasePersistence, PersistenceError, PersistenceNotFound

logger = logging.getLogger(__name__)

SCHEMA = "local_mcp.TokenCache"
SET_ASIDE_SCHEMA = "local_mcp.TokenCache.SetAside"
ITEM_LABEL = "local-mcp token cache"

T = TypeVar("T")


class KeyringUnavailable(Exception):
    """This way to the keyring does not work here; the message says why, in a few words."""

    def __init__(self, message: str, *, not_installed: bool = False) -> None:
        super().__init__(message)
        self.not_installed = not_installed  # its library is missing (as opposed to failing)


class KeyringError(PersistenceError):
    """A keyring read or write failed after the cache was opened (e.g. the keyring was locked again)."""

    def __init__(self, message: str) -> None:
        super().__init__(message=message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def item_attributes(signal_location: str) -> dict[str, str]:
    return {"xdg:schema": SCHEMA, "location": os.path.abspath(signal_location)}


def touch_signal(path: str) -> None:
    """Create the (empty, 0600) signal file if needed and stamp it with a fine-grained mtime."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    now = time.time_ns()
    os.utime(path, ns=(now, now))


def signal_mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except FileNotFoundError:
        raise PersistenceNotFound(message="The token cache has not been written yet.", location=path) from None


def remove_signal(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def ensure_session_bus() -> str | None:
    """Find the D-Bus session bus; None if there is one, else the reason there is none.

    MCP clients often start servers with a trimmed environment (the MCP SDK's stdio client
    passes only HOME, LOGNAME, PATH, SHELL, TERM and USER), so DBUS_SESSION_BUS_ADDRESS is
    missing even on a desktop. The bus of a systemd user session is still at
    $XDG_RUNTIME_DIR/bus, i.e. /run/user/<uid>/bus: use it, for libsecret and SecretStorage alike.
    """
    if os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return None
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    socket_path = Path(runtime_dir) / "bus"
    try:
        is_socket = stat.S_ISSOCK(socket_path.stat().st_mode)
    except OSError:
        is_socket = False
    if not is_socket:
        return f"no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is unset and {socket_path} does not exist"
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={socket_path}"
    logger.info("DBUS_SESSION_BUS_ADDRESS was unset; using the session bus at %s", socket_path)
    return None


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


# ----- SecretStorage: the Secret Service over D-Bus in pure Python ------------------------------


class SecretServicePersistence(BasePersistence):
    """A msal-extensions persistence keeping the cache in the Secret Service through SecretStorage.

    Construction connects, makes sure the default collection is unlocked (asking the keyring
    to prompt the user, for at most `unlock_timeout` seconds) and raises KeyringUnavailable
    when any of that is impossible. One D-Bus connection per instance, used by one thread
    at a time; a dropped connection (the keyring daemon restarted) is opened again once.
    """

    is_encrypted = True
    backend = "secretstorage"

    def __init__(self, signal_location: str, *, unlock_timeout: float = 60.0) -> None:
        try:
            import secretstorage
        except ImportError as exc:
            raise KeyringUnavailable(f"SecretStorage is not installed ({exc})", not_installed=True) from exc
        self._ss = secretstorage
        self._signal = os.path.abspath(os.path.expanduser(signal_location))
        self._attributes = item_attributes(self._signal)
        self._unlock_timeout = unlock_timeout
        self._lock = threading.Lock()
        self._connection: Any = None
        self._collection: Any = None
        self.collection_label = "?"
        with self._lock:
            self._connect()
        self.description = (
            f"Secret Service item '{ITEM_LABEL}' in the keyring collection '{self.collection_label}'"
        )

    # ----- BasePersistence ---------------------------------------------------------------------

    def save(self, content: str) -> None:
        data = content.encode("utf-8")
        self._call(lambda: self._collection.create_item(ITEM_LABEL, self._attributes, data, replace=True))
        touch_signal(self._signal)

    def load(self) -> str:
        def read() -> bytes | None:
            item = self._find()
            return None if item is None else bytes(item.get_secret())

        data = self._call(read)
        if data is None:
            raise PersistenceNotFound(message="The keyring holds no token cache yet.", location=self.description)
        if not data:  # we never store an empty cache
            raise UnicodeDecodeError("utf-8", b"", 0, 1, "empty secret in the keyring")
        return data.decode("utf-8")  # a UnicodeDecodeError makes cache.py set the item aside

    def time_last_modified(self) -> float:
        return signal_mtime(self._signal)

    def get_location(self) -> str:
        return self._signal

    # ----- local-mcp extras ----------------------------------------------------------------------

    def exists(self) -> bool:
        return self._call(self._find) is not None

    def set_aside(self) -> str:
        """Move the item out of the way (kept in the keyring under another schema); say where it went."""
        stamp = _stamp()
        label = f"{ITEM_LABEL} (unreadable, set aside {stamp})"

        def move() -> bool:
            item = self._find()
            if item is None:
                return False
            item.set_attributes({**self._attributes, "xdg:schema": SET_ASIDE_SCHEMA, "set_aside_at": stamp})
            item.set_label(label)
            return True

        moved = self._call(move)
        remove_signal(self._signal)
        return f"keyring item '{label}'" if moved else "nowhere (the keyring item was already gone)"

    def close(self) -> None:
        with self._lock:
            self._disconnect()

    # ----- D-Bus ---------------------------------------------------------------------------------

    def _connect(self) -> None:
        ss = self._ss
        try:
            connection = ss.dbus_init()
        except ss.SecretServiceNotAvailableException as exc:
            raise KeyringUnavailable(f"cannot connect to the D-Bus session bus ({exc})") from exc
        try:
            if not ss.check_service_availability(connection):
                raise KeyringUnavailable(
                    "no Secret Service provider (such as gnome-keyring) is running or activatable on the D-Bus session bus"
                )
            try:
                collection = ss.get_default_collection(connection)
            except ss.PromptDismissedException as exc:
                raise KeyringUnavailable(
                    "the keyring has no default collection and the prompt to create one was dismissed "
                    "or cannot be shown without a desktop session"
                ) from exc
            self.collection_label = _collection_label(collection)
            self._unlock(collection, KeyringUnavailable)
        except KeyringUnavailable:
            connection.close()
            raise
        except (ss.SecretStorageException, OSError) as exc:
            connection.close()
            raise KeyringUnavailable(f"the Secret Service did not answer properly ({_describe(exc)})") from exc
        self._connection, self._collection = connection, collection

    def _disconnect(self) -> None:
        connection, self._connection, self._collection = self._connection, None, None
        if connection is not None:
            try:
                connection.close()
            except OSError:
                pass

    def _unlock(self, collection: Any, error: Callable[[str], Exception]) -> None:
        if not collection.is_locked():
            return
        label = _collection_label(collection)
        logger.info("The keyring collection '%s' is locked; asking the keyring to unlock it.", label)
        try:
            dismissed = collection.unlock(timeout=self._unlock_timeout)
        except TimeoutError:
            raise error(
                f"the keyring collection '{label}' is locked and its unlock prompt was not answered "
                f"within {self._unlock_timeout:.0f} s"
            ) from None
        if dismissed or collection.is_locked():
            raise error(
                f"the keyring collection '{label}' is locked and could not be unlocked (the unlock prompt "
                "was dismissed or cannot be shown without a desktop session)"
            )

    def _find(self) -> Any:
        items = list(self._collection.search_items(self._attributes))
        return items[0] if items else None

    def _call(self, operation: Callable[[], T]) -> T:
        """Run one keyring operation: unlock if it was locked again, reconnect once if the bus dropped."""
        ss = self._ss
        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._collection is None:
                        self._connect()
                    return operation()
                except KeyringUnavailable as exc:
                    raise KeyringError(f"The keyring is no longer usable: {exc}.") from exc
                except ss.LockedException:
                    self._unlock(self._collection, _keyring_error)
                except ss.ItemNotFoundException as exc:  # replaced or set aside by another process meanwhile
                    if attempt == 2:
                        raise KeyringError(f"The keyring item changed under us twice ({_describe(exc)}).") from exc
                except (ConnectionError, OSError, ss.SecretServiceNotAvailableException) as exc:
                    self._disconnect()
                    if attempt == 2:
                        raise KeyringError(f"The keyring stopped answering ({_describe(exc)}).") from exc
                except ss.SecretStorageException as exc:
                    raise KeyringError(f"The keyring refused the operation ({_describe(exc)}).") from exc
            raise KeyringError("The keyring stayed locked.")


def _keyring_error(message: str) -> KeyringError:
    return KeyringError(f"The token cache is in the keyring, but {message}.")


def _collection_label(collection: Any) -> str:
    try:
        return str(collection.get_label()) or "default"
    except Exception:  # a locked collection may refuse even this on some providers
        return "default"


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# ----- libsecret through PyGObject ---------------------------------------------------------------


class LibsecretKeyringPersistence(BasePersistence):
    """The item through libsecret, with msal-extensions' LibSecretAgent.

    Not msal-extensions' LibsecretPersistence itself, for three reasons: its trial run
    writes and clears one test item shared by every process, so processes starting
    together fail each other's trial (two of eight did in the stress test); its save
    ignores a failed write; and it stamps the signal file with the kernel's clock.
    """

    is_encrypted = True
    backend = "libsecret"
    description = f"Secret Service item '{ITEM_LABEL}' in the default keyring collection (through libsecret)"

    def __init__(self, signal_location: str, agent_class: Any) -> None:
        self._signal = os.path.abspath(os.path.expanduser(signal_location))
        self._agent = agent_class(SCHEMA, {"location": self._signal}, label=ITEM_LABEL)
        self._trial_run(agent_class)

    @staticmethod
    def _trial_run(agent_class: Any) -> None:
        """Write, read and remove an item of our own: libsecret fails late (no service, locked, headless)."""
        from gi.repository import GLib

        agent = agent_class(f"{SCHEMA}.TrialRun", {"pid": str(os.getpid()), "nonce": secrets.token_hex(8)})
        try:
            stored = agent.save("trial")
            read = agent.load() if stored else None
            agent.clear()
        except GLib.Error as exc:
            raise KeyringUnavailable(f"libsecret could not use the keyring: {diagnose() or _describe(exc)}") from exc
        if read != "trial":
            raise KeyringUnavailable(f"libsecret could not use the keyring: {diagnose() or 'its trial write did not read back'}")

    def save(self, content: str) -> None:
        if not self._glib(lambda: self._agent.save(content)):
            raise KeyringError("libsecret could not store the token cache in the keyring.")
        touch_signal(self._signal)

    def load(self) -> str:
        data = self._glib(self._agent.load)  # a secret that is not UTF-8 raises UnicodeDecodeError: set aside
        if data is None:
            raise PersistenceNotFound(message="The keyring holds no token cache yet.", location=self.description)
        if not data:
            # We never store an empty cache; libsecret returns "" for a secret starting with NUL.
            raise UnicodeDecodeError("utf-8", b"", 0, 1, "empty or NUL-started secret in the keyring")
        return str(data)

    def time_last_modified(self) -> float:
        return signal_mtime(self._signal)

    def get_location(self) -> str:
        return self._signal

    @staticmethod
    def _glib(operation: Callable[[], T]) -> T:
        from gi.repository import GLib

        try:
            return operation()
        except GLib.Error as exc:
            why = diagnose() or _describe(exc)
            raise KeyringError(f"The token cache is in the keyring, but libsecret failed: {why}.") from exc

    def exists(self) -> bool:
        try:
            return self._glib(self._agent.load) is not None
        except UnicodeDecodeError:  # there is an item, just not a readable one
            return True

    def set_aside(self) -> str:
        """Both backends share the item, so one code path moves it: SecretStorage's."""
        try:
            mover = SecretServicePersistence(self._signal)
        except KeyringUnavailable as exc:
            raise KeyringError(f"The unreadable token cache could not be set aside: {exc}.") from exc
        try:
            return mover.set_aside()
        finally:
            mover.close()


def libsecret_persistence(signal_location: str) -> LibsecretKeyringPersistence:
    """The libsecret way to the item, or KeyringUnavailable saying why not."""
    try:
        from msal_extensions.libsecret import LibSecretAgent
    except ImportError as exc:  # no gi; or no Secret typelib, re-raised by msal-extensions as ImportError
        missing = "PyGObject" if "'gi'" in str(exc) else "the Secret typelib (gir1.2-secret-1)"
        raise KeyringUnavailable(f"{missing} is not installed ({_describe(exc)})", not_installed=True) from exc
    except ValueError as exc:  # gi.require_version: no Secret typelib
        raise KeyringUnavailable(
            f"the Secret typelib (gir1.2-secret-1) is missing ({_describe(exc)})", not_installed=True
        ) from exc
    return LibsecretKeyringPersistence(signal_location, LibSecretAgent)


def diagnose() -> str | None:
    """Why the Secret Service is unusable, in a few words, asking nothing of the user (no prompt)."""
    try:
        import secretstorage as ss
    except ImportError:
        return None
    try:
        connection = ss.dbus_init()
    except ss.SecretServiceNotAvailableException as exc:
        return f"cannot connect to the D-Bus session bus ({exc})"
    try:
        if not ss.check_service_availability(connection):
            return "no Secret Service provider (such as gnome-keyring) is running or activatable on the D-Bus session bus"
        try:
            collection = ss.get_collection_by_alias(connection, "default")
        except ss.ItemNotFoundException:
            return "the keyring has no default collection"
        if collection.is_locked():
            return f"the keyring collection '{_collection_label(collection)}' is locked"
        return None
    except (ss.SecretStorageException, OSError) as exc:
        return f"the Secret Service did not answer properly ({_describe(exc)})"
    finally:
        connection.close()
