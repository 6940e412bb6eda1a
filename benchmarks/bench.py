"""Measure local-mcp's start-up, tools/list, first and warm tool calls, silent tokens and memory.

    python benchmarks/bench.py [--runs N] [--vs 'COMMAND'] [--json PATH]

Starts the local Entra ID + Graph emulator (tests/emulator), signs in once to fill a
token cache, then runs the real `local-mcp` process N times over stdio, speaking
JSON-RPC directly (no client library in the measurement), interleaved with a
minimal one-tool MCPServer (the floor) and, with --vs, another MCP server. Prints
each figure's median and spread as a table and as JSON. It measures; it never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FLOOR = ROOT / "benchmarks" / "floor_server.py"
AUTHORITY_COUNTERS = ("openid_configuration", "instance_discovery", "authorize", "token", "devicecode", "jwks")


# ----- a tiny JSON-RPC stdio driver -------------------------------------------------------------


class StdioServer:
    """Spawn a server and exchange newline-delimited JSON-RPC with it."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=str(ROOT)
        )
        self._next_id = 0
        self._lines: list[bytes] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._cond:
                self._lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._lines.append(b"")
            self._cond.notify_all()

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        self.process.stdin.flush()

    def request(self, method: str, params: dict[str, Any] | None = None, timeout: float = 120) -> dict[str, Any]:
        self._next_id += 1
        wanted = self._next_id
        self.send({"jsonrpc": "2.0", "id": wanted, "method": method, "params": params or {}})
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, line in enumerate(self._lines):
                    if line == b"":
                        raise RuntimeError(f"server exited before answering {method}")
                    message = json.loads(line)
                    if message.get("id") == wanted:
                        del self._lines[: i + 1]
                        if "error" in message:
                            raise RuntimeError(f"{method}: {message['error']}")
                        return message["result"]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(method)
                self._cond.wait(remaining)

    def initialize(self) -> float:
        """Seconds from spawn to the initialize response."""
        self.request(
            "initialize",
            {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}},
        )
        elapsed = time.perf_counter() - self.started
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return elapsed

    def timed(self, method: str, params: dict[str, Any] | None = None) -> tuple[float, dict[str, Any]]:
        start = time.perf_counter()
        result = self.request(method, params)
        return time.perf_counter() - start, result

    def rss_mb(self) -> float | None:
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def close(self) -> None:
        try:
            if self.process.stdin:
                self.process.stdin.close()
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# ----- the emulator -----------------------------------------------------------------------------


class Emulator:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.emulator"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, cwd=str(ROOT),
        )
        assert self.process.stdout is not None
        self.info = json.loads(self.process.stdout.readline())
        self._ssl = ssl.create_default_context(cafile=self.info["ca_bundle"])

    def control(self, action: str, method: str = "GET") -> Any:
        request = urllib.request.Request(f"{self.info['control_url']}/{action}", method=method, data=b"{}" if method == "POST" else None)
        with urllib.request.urlopen(request, context=self._ssl, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def counts(self) -> dict[str, int]:
        return dict(self.control("counts"))

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.terminate()
        self.process.wait(timeout=10)


def server_env(emulator: Emulator, cache_dir: Path) -> dict[str, str]:
    info = emulator.info
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cache_dir.parent),
        "PYTHONPATH": str(ROOT),
        "LOCAL_MCP_AUTHORITY": info["authority"],
        "LOCAL_MCP_GRAPH_URL": info["graph_url"],
        "LOCAL_MCP_CLIENT_ID": info["client_id"],
        "LOCAL_MCP_CACHE_DIR": str(cache_dir),
        "LOCAL_MCP_AUTH_MODE": "browser",
        "LOCAL_MCP_ALLOW_UNENCRYPTED_CACHE": "1",
        "LOCAL_MCP_LOG_LEVEL": "ERROR",
        "REQUESTS_CA_BUNDLE": info["ca_bundle"],
        "SSL_CERT_FILE": info["ca_bundle"],
        "BROWSER": info["browser_command"],
    }


# ----- measurements -----------------------------------------------------------------------------


def measure_local_mcp(emulator: Emulator, env: dict[str, str], warm_calls: int) -> dict[str, float | None]:
    before = emulator.counts()
    server = StdioServer([sys.executable, "-m", "local_mcp"], env)
    try:
        init = server.initialize()
        rss_idle = server.rss_mb()
        list_time, _ = server.timed("tools/list")
        first, result = server.timed("tools/call", {"name": "whoami", "arguments": {}})
        if result.get("isError"):
            raise RuntimeError(f"whoami failed: {result}")
        warm = []
        for _ in range(warm_calls):
            elapsed, _ = server.timed("tools/call", {"name": "whoami", "arguments": {}})
            warm.append(elapsed)
        rss_after = server.rss_mb()
    finally:
        server.close()
    after = emulator.counts()
    authority_requests = sum(after.get(k, 0) - before.get(k, 0) for k in AUTHORITY_COUNTERS)
    return {
        "initialize_s": init,
        "tools_list_s": list_time,
        "first_whoami_s": first,  # the first tools/call itself, after initialize and tools/list
        "warm_whoami_s": statistics.median(warm) if warm else None,
        "authority_requests": float(authority_requests),
        "rss_idle_mb": rss_idle,
        "rss_after_calls_mb": rss_after,
    }


def measure_plain(command: list[str], env: dict[str, str]) -> dict[str, float | None]:
    server = StdioServer(command, env)
    try:
        init = server.initialize()
        rss = server.rss_mb()
        list_time, _ = server.timed("tools/list")
    finally:
        server.close()
    return {"initialize_s": init, "tools_list_s": list_time, "rss_idle_mb": rss}


def graph_me_time(emulator: Emulator, cache_dir: Path, runs: int = 20) -> float | None:
    """The Graph endpoint's own response time for GET /me (keep-alive, a valid token from the cache)."""
    try:
        cache = json.loads((cache_dir / "token_cache.bin").read_text())
        token = next(iter(cache["AccessToken"].values()))["secret"]
    except (OSError, ValueError, KeyError, StopIteration):
        return None
    import http.client

    host, port = "127.0.0.1", int(emulator.info["graph_url"].split(":")[2].split("/")[0])
    connection = http.client.HTTPSConnection(host, port, context=ssl.create_default_context(cafile=emulator.info["ca_bundle"]))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        connection.request("GET", "/v1.0/me?$select=id,displayName,mail,userPrincipalName,jobTitle", headers={"Authorization": f"Bearer {token}"})
        connection.getresponse().read()
        times.append(time.perf_counter() - start)
    connection.close()
    return statistics.median(times)


def silent_from_memory(emulator: Emulator, cache_dir: Path, env: dict[str, str], calls: int = 2000) -> dict[str, float]:
    """In-process: TokenProvider.get_token for a token already held, per call, and authority requests made."""
    code = f"""
import anyio, json, os, sys, time
os.environ.update({json.dumps(env)})
from local_mcp.config import Settings
from local_mcp.auth.tokens import TokenProvider
async def main():
    settings = Settings.load()
    async with TokenProvider(settings) as tokens:
        await tokens.get_token(settings.graph_resource, ["User.Read"])
        start = time.perf_counter()
        for _ in range({calls}):
            await tokens.get_token(settings.graph_resource, ["User.Read"])
        print(json.dumps({{"per_call_s": (time.perf_counter() - start) / {calls}}}))
anyio.run(main)
"""
    before = emulator.counts()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**env}, cwd=str(ROOT), check=True)
    after = emulator.counts()
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["authority_requests"] = float(sum(after.get(k, 0) - before.get(k, 0) for k in AUTHORITY_COUNTERS))
    return result


def summarize(samples: list[float | None]) -> dict[str, float | None]:
    values = [s for s in samples if s is not None]
    if not values:
        return {"median": None, "min": None, "max": None, "stdev": None, "n": 0}
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "stdev": statistics.stdev(values) if len(values) > 1 else 0.0,
        "n": len(values),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="process starts per server (default 10)")
    parser.add_argument("--warm-calls", type=int, default=5, help="warm whoami calls per local-mcp run")
    parser.add_argument("--vs", action="append", default=[], metavar="COMMAND", help="another MCP server to compare (repeatable)")
    parser.add_argument("--json", type=Path, help="also write the JSON report to this file")
    args = parser.parse_args(argv)

    emulator = Emulator()
    workdir = Path(tempfile.mkdtemp(prefix="local-mcp-bench-"))
    cache_dir = workdir / "cache"
    env = server_env(emulator, cache_dir)
    try:
        # Sign in once (browser flow against the emulator) so every measured run has a cached token.
        seed = StdioServer([sys.executable, "-m", "local_mcp"], env)
        seed.initialize()
        _, result = seed.timed("tools/call", {"name": "whoami", "arguments": {}})
        seed.close()
        if result.get("isError"):
            raise SystemExit(f"could not sign in against the emulator: {result}")

        samples: dict[str, dict[str, list[float | None]]] = {"local-mcp": {}, "floor (one-tool MCPServer)": {}}
        others = {command: shlex.split(command) for command in args.vs}
        for command in others:
            samples[command] = {}
        floor_env = {"PATH": env["PATH"], "HOME": env["HOME"], "PYTHONPATH": str(ROOT)}
        other_env = {**os.environ}
        for _ in range(args.runs):  # interleaved, so drift affects all servers alike
            for key, value in measure_local_mcp(emulator, env, args.warm_calls).items():
                samples["local-mcp"].setdefault(key, []).append(value)
            for key, value in measure_plain([sys.executable, str(FLOOR)], floor_env).items():
                samples["floor (one-tool MCPServer)"].setdefault(key, []).append(value)
            for command, argv_ in others.items():
                for key, value in measure_plain(argv_, other_env).items():
                    samples[command].setdefault(key, []).append(value)

        graph_own = graph_me_time(emulator, cache_dir)
        memory = silent_from_memory(emulator, cache_dir, env)
    finally:
        emulator.close()

    report: dict[str, Any] = {
        "runs": args.runs,
        "python": sys.version.split()[0],
        "servers": {name: {k: summarize(v) for k, v in figures.items()} for name, figures in samples.items()},
        "graph_get_me_endpoint_s": graph_own,
        "silent_token_from_memory": memory,
    }
    ours = report["servers"]["local-mcp"]
    floor = report["servers"]["floor (one-tool MCPServer)"]
    ratios: dict[str, float | None] = {}
    for name, figures in report["servers"].items():
        if name == "local-mcp":
            continue
        theirs = figures["initialize_s"]["median"]
        ratios[f"initialize local-mcp / {name}"] = ours["initialize_s"]["median"] / theirs if theirs else None
        theirs_list = figures["tools_list_s"]["median"]
        ratios[f"tools/list local-mcp / {name}"] = ours["tools_list_s"]["median"] / theirs_list if theirs_list else None
    report["ratios"] = ratios
    warm = ours["warm_whoami_s"]["median"]
    report["warm_whoami_over_graph_s"] = warm - graph_own if warm is not None and graph_own is not None else None

    _print_table(report, floor)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
    return 0


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:8.1f} ms"


def _print_table(report: dict[str, Any], floor: dict[str, Any]) -> None:
    rows = []
    for name, figures in report["servers"].items():
        for key, stats in figures.items():
            if stats["median"] is None:
                continue
            if key.endswith("_mb"):
                shown = f"{stats['median']:8.1f} MB  ({stats['min']:.1f}-{stats['max']:.1f})"
            elif key == "authority_requests":
                shown = f"{stats['max']:8.0f}     (max over runs)"
            else:
                shown = f"{_ms(stats['median'])}  ({stats['min'] * 1000:.1f}-{stats['max'] * 1000:.1f}, sd {stats['stdev'] * 1000:.1f})"
            rows.append((name, key, shown))
    rows.append(("local-mcp", "graph GET /me endpoint itself", _ms(report["graph_get_me_endpoint_s"])))
    rows.append(("local-mcp", "warm whoami over the endpoint", _ms(report["warm_whoami_over_graph_s"])))
    memory = report["silent_token_from_memory"]
    rows.append(("local-mcp", "silent token from memory", f"{memory['per_call_s'] * 1e6:8.1f} us  (authority requests: {memory['authority_requests']:.0f})"))
    for key, ratio in report["ratios"].items():
        rows.append(("ratio", key, "-" if ratio is None else f"{ratio:8.3f}"))
    width = max(len(r[0]) for r in rows)
    print(f"{'server'.ljust(width)}  {'figure'.ljust(34)}  median (min-max, sd)")
    for name, key, shown in rows:
        print(f"{name.ljust(width)}  {key.ljust(34)}  {shown}")
    print()


if __name__ == "__main__":
    raise SystemExit(main())
