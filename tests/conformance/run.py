"""Run the official MCP conformance suite against `local-mcp serve --transport http`.

    python -m tests.conformance.run --suite <conformance bin> --node <node 22 bin> --requirements 2026-07-28

Starts the emulator (Entra ID + Graph) in this process, registers the server's API with it,
starts the real server process in remote mode, and points the suite at a loopback proxy that
adds an emulator-issued bearer token (the suite cannot send headers; see bearer_proxy.py).
The suite's exit code is ours: it is non-zero on any failing check not listed in
tests/conformance/expected-<revision>.yml, and on any listed check that passes (a stale entry).
Why each listed check does not apply: tests/CONFORMANCE.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.conformance.bearer_proxy import BearerProxy
from tests.emulator import Emulator
from tests.integration.test_remote import API_CLIENT_ID, SECRET, free_port, start_server

HERE = Path(__file__).parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.conformance.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", required=True, help="path of the conformance CLI (node_modules/.bin/conformance)")
    parser.add_argument("--node", required=True, help="a Node.js >= 22 executable")
    parser.add_argument("--requirements", required=True, help="spec revision, e.g. 2025-11-25 or 2026-07-28")
    parser.add_argument("--output", type=Path, help="keep the suite's results here (default: a temporary folder)")
    args = parser.parse_args(argv)
    baseline = HERE / f"expected-{args.requirements}.yml"
    with tempfile.TemporaryDirectory(prefix="conformance-") as tmp, Emulator() as emu:
        root = Path(tmp)
        output = args.output or root / "results"
        port = free_port()
        api = emu.identity.obo.register_api(API_CLIENT_ID, f"http://127.0.0.1:{port}/mcp", secret=SECRET)
        server = start_server(emu, root, port)
        try:
            with BearerProxy(f"http://127.0.0.1:{port}", api.user_token()) as proxy:
                command = [args.node, args.suite, "server", "--url", f"{proxy.url}/mcp",
                           "--requirements", args.requirements, "-o", str(output)]
                if baseline.exists():
                    command += ["--expected-failures", str(baseline)]
                code = subprocess.run(command, timeout=600).returncode
                if proxy.requests == 0:  # a suite that never reached us proves nothing
                    print("conformance: the suite sent no request to the server", file=sys.stderr)
                    code = code or 1
        finally:
            server.terminate()
            server.wait(10)
        if code != 0:
            log = (root / f"server-{port}.log").read_text(errors="replace")
            print(f"---- server log (last 4000 characters) ----\n{log[-4000:]}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
