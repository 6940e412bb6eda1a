#!/usr/bin/env bash
# Run a command inside a private D-Bus session with a fresh, unlocked gnome-keyring.
#
#   tests/keyring/run_with_keyring.sh [COMMAND ARGS...]    default: python -m pytest -q -m keyring
#
# The keyring daemon gets a throw-away HOME every run: a login keyring left by an earlier
# run (with another password) would stay locked, and libsecret then fails as if headless.
# Tests learn the keyring's password and HOME from LOCAL_MCP_TEST_KEYRING_PASSWORD and
# LOCAL_MCP_TEST_KEYRING_HOME; LOCAL_MCP_TEST_KEYRING_SESSION=1 tells them the session is theirs.
# Needs: dbus-run-session (dbus), gnome-keyring-daemon (gnome-keyring). The tests that lock the
# keyring make gnome-keyring start its prompter, which cannot open a display; the bus daemon
# logs that to stderr ("cannot open display"): expected, harmless.
set -euo pipefail

if [ -z "${LOCAL_MCP_TEST_KEYRING_SESSION:-}" ]; then
  for tool in dbus-run-session gnome-keyring-daemon; do
    command -v "$tool" >/dev/null || { echo "run_with_keyring.sh: $tool not found (apt-get install dbus gnome-keyring)" >&2; exit 2; }
  done
  export LOCAL_MCP_TEST_KEYRING_SESSION=1
  exec dbus-run-session -- bash "$0" "$@"
fi

# Inside the new session bus.
keyring_home=$(mktemp -d "${TMPDIR:-/tmp}/local-mcp-keyring-home.XXXXXX")
password="local-mcp-test-$RANDOM$RANDOM"
keyring_pid=""
cleanup() {
  if [ -n "$keyring_pid" ]; then kill "$keyring_pid" 2>/dev/null || true; wait "$keyring_pid" 2>/dev/null || true; fi
  rm -rf "$keyring_home"
}
trap cleanup EXIT

# --unlock reads the password from stdin and creates the login keyring with it.
printf '%s' "$password" | env -u XDG_DATA_HOME HOME="$keyring_home" \
  gnome-keyring-daemon --foreground --unlock --components=secrets >"$keyring_home/daemon.log" 2>&1 &
keyring_pid=$!

python=${PYTHON:-$(command -v python || command -v python3)}
ready=""
for _ in $(seq 1 100); do  # until org.freedesktop.secrets answers with an unlocked default collection
  if "$python" - <<'PY' 2>/dev/null; then ready=1; break; fi
import secretstorage, sys
with secretstorage.dbus_init() as connection:
    sys.exit(secretstorage.get_default_collection(connection).is_locked())
PY
  if ! kill -0 "$keyring_pid" 2>/dev/null; then
    echo "run_with_keyring.sh: gnome-keyring-daemon exited:" >&2; cat "$keyring_home/daemon.log" >&2; exit 2
  fi
  sleep 0.1
done
if [ -z "$ready" ]; then
  echo "run_with_keyring.sh: the keyring did not come up unlocked within 10 s:" >&2; cat "$keyring_home/daemon.log" >&2; exit 2
fi

export LOCAL_MCP_TEST_KEYRING_PASSWORD="$password" LOCAL_MCP_TEST_KEYRING_HOME="$keyring_home"
if [ "$#" -eq 0 ]; then set -- "$python" -m pytest -q -m keyring; fi
status=0
"$@" || status=$?
exit "$status"
