"""Run a command with stdin/stdout passed through, keeping a copy of every stdout byte.

Usage: python stdout_tap.py STDOUT_COPY STDERR_FILE -- COMMAND [ARGS...]

The integration tests start `local-mcp` through this tap so they can check that
everything the server ever wrote to stdout is JSON-RPC, byte for byte.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading


def main() -> int:
    copy_path, stderr_path = sys.argv[1], sys.argv[2]
    command = sys.argv[sys.argv.index("--") + 1 :]
    with open(stderr_path, "ab") as err:
        child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, bufsize=0)

    def pump_in() -> None:
        try:
            while chunk := os.read(0, 65536):
                child.stdin.write(chunk)
                child.stdin.flush()
        except OSError:
            pass
        finally:
            try:
                child.stdin.close()
            except OSError:
                pass

    threading.Thread(target=pump_in, daemon=True).start()
    with open(copy_path, "ab", buffering=0) as copy:
        while chunk := os.read(child.stdout.fileno(), 65536):
            copy.write(chunk)
            os.write(1, chunk)
    return child.wait()


if __name__ == "__main__":
    raise SystemExit(main())
