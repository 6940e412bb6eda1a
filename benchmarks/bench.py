"""Measure local-mcp's start-up, tools/list, first and warm tool calls, silent tokens and memory,
calls under concurrency, result sizes, and peak memory on big files (bench_load.py).

    python benchmarks/bench.py [--runs N] [--vs 'COMMAND'] [--json PATH]

Starts the local Entra ID + Graph emulator (tests/emulator), signs in once to fill a
token cache, then runs the real `local-mcp` process N times over stdio, speaking
JSON-RPC directly (no client library in the measurement), interleaved with a
minimal one-tool MCPServer (the floor) and, with --vs, another MCP server. Prints
each figure's median and spread as a table and as JSON. It measures; it never asserts.

local-mcp runs twice per round, with the background preload (the default) and with
LOCAL_MCP_PRELOAD=0; its first call comes after a 1 s pause following tools/list, as when
a person asks a question after the client started the server. Those are usual starts: the
sign-in run before them also left the tools/list cache (local_mcp/listing.py) in the cache
folder. Each round also starts local-mcp once on an empty cache folder ("first start": no
listing cache, the tools are built before initialize is answered). Then one more process serves
1, 10 and 50 concurrent read calls, every read tool's default result, a 100 MB download and
a 200 MB upload (the emulator, in its own process, generates and hashes big files).
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
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_load  # noqa: E402  (next to this script)

PAUSE_S = 1.0  # idle time between tools/list and the first tool call
FLOOR = ROOT / "benchmarks" / "floor_server.py"
FIRST_START = "local-mcp first start (no listing cache)"
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
        self.answer_bytes = 0  # the size of the last answer's line on the wire (without the newline)
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
                        self.answer_bytes = len(line.rstrip(b"\n"))
                        if "error" in message:
                            raise RuntimeError(f"{method}: {message['error']}")
                        return message["result"]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(method)
                self._cond.wait(remaining)

    def request_many(self, calls: list[tuple[str, dict[str, Any]]], timeout: float = 120) -> list[float]:
        """Send all requests at once; the perf_counter time at which each answer arrived."""
        first = self._next_id + 1
        for method, params in calls:
            self._next_id += 1
            self.send({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params})
        wanted, arrived = set(range(first, self._next_id + 1)), []
        deadline = time.monotonic() + timeout
        with self._cond:
            while wanted:
                keep = []
                for line in self._lines:
                    if line == b"":
                        raise RuntimeError("server exited")
                    message = json.loads(line)
                    if message.get("id") in wanted:
                        wanted.discard(message["id"])
                        arrived.append(time.perf_counter())
                    else:
                        keep.append(line)
                self._lines[:] = keep
                if wanted:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError("request_many")
                    self._cond.wait(remaining)
        return arrived

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

    def control_json(self, action: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(f"{self.info['control_url']}/{action}", method="POST", data=json.dumps(body).encode())
        with urllib.request.urlopen(request, context=self._ssl, timeout=30) as response:
            return json.loads(response.read() or b"null")

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
        list_bytes = server.answer_bytes  # the default tool set, writes off
        time.sleep(PAUSE_S)
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
        "tools_list_bytes": float(list_bytes),
        "first_whoami_s": first,  # the first tools/call itself, 1 s after tools/list was answered
        "warm_whoami_s": statistics.median(warm) if warm else None,
        "authority_requests": float(authority_requests),
        "rss_idle_mb": rss_idle,
        "rss_after_calls_mb": rss_after,
    }


def measure_load(emulator: Emulator, env: dict[str, str], cache_dir: Path, workdir: Path) -> dict[str, Any]:
    """One warm process: concurrent read calls, result sizes, peak RSS on big files."""
    load_env = {**env, "LOCAL_MCP_ALLOW_WRITES": "1", "LOCAL_MCP_UPLOAD_DIRS": str(workdir / "uploads"),
                "LOCAL_MCP_DOWNLOAD_DIR": str(workdir / "downloads"), "LOCAL_MCP_CONFIRM_WRITES": "model"}
    server = StdioServer([sys.executable, "-m", "local_mcp"], load_env)
    try:
        server.initialize()
        for _ in range(3):
            server.request("tools/call", bench_load.READ_CALL)
        concurrency = bench_load.concurrent_calls(server)
        sizes = bench_load.result_sizes(server)
        big = bench_load.big_file_memory(server, emulator, workdir)
    finally:
        server.close()
    try:
        token = next(iter(json.loads((cache_dir / "token_cache.bin").read_text())["AccessToken"].values()))["secret"]
        own = bench_load.emulator_concurrent(emulator, token)
    except (OSError, ValueError, KeyError, StopIteration):
        own = {}
    for n, figures in concurrency.items():
        figures["emulator_median_s"] = own.get(n)
        figures["overhead_median_s"] = figures["median_s"] - own[n] if n in own else None
    return {"concurrency": concurrency, "result_bytes": sizes, "big_files": big}


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
    parser.add_argument("--no-load", action="store_true", help="skip concurrency, result sizes and big files")
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

        samples: dict[str, dict[str, list[float | None]]] = {
            "local-mcp": {}, "local-mcp --no-preload": {}, FIRST_START: {}, "floor (one-tool MCPServer)": {}}
        no_preload_env = {**env, "LOCAL_MCP_PRELOAD": "0"}
        others = {command: shlex.split(command) for command in args.vs}
        for command in others:
            samples[command] = {}
        floor_env = {"PATH": env["PATH"], "HOME": env["HOME"], "PYTHONPATH": str(ROOT)}
        other_env = {**os.environ}
        for run in range(args.runs):  # interleaved, so drift affects all servers alike
            for key, value in measure_local_mcp(emulator, env, args.warm_calls).items():
                samples["local-mcp"].setdefault(key, []).append(value)
            for key, value in measure_local_mcp(emulator, no_preload_env, args.warm_calls).items():
                samples["local-mcp --no-preload"].setdefault(key, []).append(value)
            first_env = {**env, "LOCAL_MCP_CACHE_DIR": str(workdir / f"first-start-{run}")}  # nothing cached yet
            for key, value in measure_plain([sys.executable, "-m", "local_mcp"], first_env).items():
                samples[FIRST_START].setdefault(key, []).append(value)
            for key, value in measure_plain([sys.executable, str(FLOOR)], floor_env).items():
                samples["floor (one-tool MCPServer)"].setdefault(key, []).append(value)
            for command, argv_ in others.items():
                for key, value in measure_plain(argv_, other_env).items():
                    samples[command].setdefault(key, []).append(value)

        graph_own = graph_me_time(emulator, cache_dir)
        memory = silent_from_memory(emulator, cache_dir, env)
        load = None if args.no_load else measure_load(emulator, env, cache_dir, workdir)
    finally:
        emulator.close()

    report: dict[str, Any] = {
        "runs": args.runs,
        "python": sys.version.split()[0],
        "servers": {name: {k: summarize(v) for k, v in figures.items()} for name, figures in samples.items()},
        "graph_get_me_endpoint_s": graph_own,
        "silent_token_from_memory": memory,
        "load": load,
    }
    ours = report["servers"]["local-mcp"]
    floor = report["servers"]["floor (one-tool MCPServer)"]
    ratios: dict[str, float | None] = {}
    first = report["servers"][FIRST_START]["initialize_s"]["median"]
    ratios[f"initialize {FIRST_START} / floor"] = first / floor["initialize_s"]["median"] if first else None
    for name, figures in report["servers"].items():
        if name.startswith("local-mcp"):
            continue
        theirs = figures["initialize_s"]["median"]
        ratios[f"initialize local-mcp / {name}"] = ours["initialize_s"]["median"] / theirs if theirs else None
        theirs_list = figures["tools_list_s"]["median"]
        ratios[f"tools/list local-mcp / {name}"] = ours["tools_list_s"]["median"] / theirs_list if theirs_list else None
    report["ratios"] = ratios
    warm = ours["warm_whoami_s"]["median"]
    report["warm_whoami_over_graph_s"] = warm - graph_own if warm is not None and graph_own is not None else None
    for name in ("local-mcp", "local-mcp --no-preload"):
        figures = report["servers"][name]
        first_median, warm_median = figures["first_whoami_s"]["median"], figures["warm_whoami_s"]["median"]
        report.setdefault("first_over_warm_s", {})[name] = (
            first_median - warm_median if first_median is not None and warm_median is not None else None)

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
            if key.endswith("_bytes"):
                shown = f"{stats['median']:8.0f} B"
            elif key.endswith("_mb"):
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
    for name, value in report.get("first_over_warm_s", {}).items():
        rows.append((name, "first call (after 1 s idle) - warm", _ms(value)))
    for key, ratio in report["ratios"].items():
        rows.append(("ratio", key, "-" if ratio is None else f"{ratio:8.3f}"))
    load = report.get("load") or {}
    for n, f in (load.get("concurrency") or {}).items():
        rows.append(("load", f"{n} concurrent whoami", f"median {_ms(f['median_s'])}, p95 {_ms(f['p95_s'])}, "
                     f"{f['calls_per_s']:.0f} calls/s, over emulator {_ms(f['overhead_median_s'])}"))
    for tool, size in (load.get("result_bytes") or {}).items():
        rows.append(("load", f"bytes of {tool}", f"{size:8d} B"))
    for key, value in (load.get("big_files") or {}).items():
        rows.append(("load", key, "-" if value is None else (f"{value:8.1f} MB" if key.endswith("_mb") else f"{value:8.2f} s")))
    width = max(len(r[0]) for r in rows)
    print(f"{'server'.ljust(width)}  {'figure'.ljust(34)}  median (min-max, sd)")
    for name, key, shown in rows:
        print(f"{name.ljust(width)}  {key.ljust(34)}  {shown}")
    print()


if __name__ == "__main__":
    raise SystemExit(main())
