"""Run the emulator as its own process: `python -m tests.emulator` (from the repo root).

Prints ONE line of JSON to stdout (authority, graph_url, graph_resource,
ca_bundle, browser_command, client_id, control_url, ...), then serves until
SIGTERM/SIGINT, or until stdin reaches EOF when stdin is a pipe (so a parent
that dies does not leave it running). On exit the request counts are written
to stderr as one JSON line. While running, another process can use the
control API: GET  <control_url>/counts, POST <control_url>/inject
{"endpoint": "graph", "status": 429, "retry_after": 1}, POST .../reset-counts,
POST .../revoke-refresh-tokens, POST .../approve-device-code {"user_code": ...},
POST .../withhold-scopes {"scopes": ["Mail.Read"]},
POST .../config {"token_lifetime": 120}.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import stat
import sys
import threading
from types import FrameType

from .model import DEFAULT_CLIENT_ID, EmulatorUser
from .server import Emulator


def _stdin_is_pipe() -> bool:
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    # /dev/null or a terminal would end (or never end) for the wrong reasons.
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.emulator", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--token-lifetime", type=int, default=3600, help="access token expires_in, seconds")
    parser.add_argument("--device-code-interval", type=int, default=1, help="device flow polling interval")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID, help="the client id to advertise")
    parser.add_argument("--strict-client-id", action="store_true", help="reject other client ids")
    parser.add_argument("--user-name", default=EmulatorUser.name)
    parser.add_argument("--user-email", default=EmulatorUser.email)
    args = parser.parse_args(argv)

    emu = Emulator(
        EmulatorUser(name=args.user_name, email=args.user_email),
        token_lifetime=args.token_lifetime, device_code_interval=args.device_code_interval,
        client_id=args.client_id, strict_client_id=args.strict_client_id, port=args.port,
    ).start()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if _stdin_is_pipe():
        def watch_stdin() -> None:
            # os.read on the raw fd: a daemon thread blocked inside the buffered
            # sys.stdin would hold its lock and abort interpreter shutdown.
            fd = sys.stdin.fileno()
            while os.read(fd, 65536):
                pass
            stop.set()
        threading.Thread(target=watch_stdin, name="stdin-watch", daemon=True).start()

    try:
        print(json.dumps({
            "authority": emu.authority,
            "graph_url": emu.graph_url,
            "graph_resource": emu.graph_resource,
            "ca_bundle": emu.ca_bundle,
            "browser_command": emu.browser_command,
            "client_id": emu.client_id,
            "tenant_id": emu.user.tid,
            "username": emu.user.email,
            "base_url": emu.base_url,
            "control_url": f"{emu.base_url}/_emulator",
            "pid": os.getpid(),
        }), flush=True)
        while not stop.wait(0.2):  # a timed wait keeps the main thread responsive to signals
            pass
    finally:
        counts = dict(emu.counts)
        emu.stop()
        print(json.dumps({"counts": counts}), file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
