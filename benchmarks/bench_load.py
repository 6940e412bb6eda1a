"""Figures under load for bench.py: concurrent calls, result sizes, and peak memory on big files.

Each function takes a started StdioServer (signed in) and the Emulator, measures, and returns
plain numbers; nothing here asserts.
"""

from __future__ import annotations

import http.client
import json
import ssl
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

CONCURRENCY = (1, 10, 50)
READ_CALL = {"name": "whoami", "arguments": {}}
BIG_DOWNLOAD_BYTES = 100 * 1024 * 1024
BIG_UPLOAD_BYTES = 200 * 1024 * 1024


def concurrent_calls(server: Any, rounds: int = 5) -> dict[str, dict[str, float]]:
    """N read calls sent at once, `rounds` times: median and p95 latency, and calls per second."""
    figures = {}
    for n in CONCURRENCY:
        latencies, walls = [], []
        for _ in range(rounds):
            start = time.perf_counter()
            done = server.request_many([("tools/call", READ_CALL)] * n)
            walls.append(time.perf_counter() - start)
            latencies.extend(t - start for t in done)
        latencies.sort()
        figures[str(n)] = {
            "median_s": statistics.median(latencies),
            "p95_s": latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
            "calls_per_s": n * rounds / sum(walls),
        }
    return figures


def emulator_concurrent(emulator: Any, token: str, rounds: int = 5) -> dict[str, float]:
    """The emulator's own median time for GET /me with N requests at once (N keep-alive connections)."""
    host, port = "127.0.0.1", int(emulator.info["graph_url"].split(":")[2].split("/")[0])
    tls = ssl.create_default_context(cafile=emulator.info["ca_bundle"])
    path = "/v1.0/me?$select=id,displayName,mail,userPrincipalName,jobTitle"
    result = {}
    for n in CONCURRENCY:
        connections = [http.client.HTTPSConnection(host, port, context=tls) for _ in range(n)]
        for c in connections:  # connect and warm each one first
            c.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            c.getresponse().read()
        times: list[float] = []
        barrier = threading.Barrier(n)

        def one(c: http.client.HTTPSConnection) -> float:
            barrier.wait()
            start = time.perf_counter()
            c.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            c.getresponse().read()
            return time.perf_counter() - start

        with ThreadPoolExecutor(n) as pool:
            for _ in range(rounds):
                times.extend(pool.map(one, connections))
        for c in connections:
            c.close()
        result[str(n)] = statistics.median(times)
    return result


def result_sizes(server: Any) -> dict[str, int]:
    """Bytes of tools/list (this process allows writes) and of each listed read tool's result for a default call."""
    tools = server.request("tools/list")
    sizes = {"tools/list (writes on)": len(json.dumps(tools, separators=(",", ":")))}
    for tool in tools["tools"]:
        schema = tool.get("inputSchema") or {}
        read_only = (tool.get("annotations") or {}).get("readOnlyHint")
        if schema.get("required") or not read_only or tool["name"] in ("sign_in", "sign_out"):
            continue
        result = server.request("tools/call", {"name": tool["name"], "arguments": {}})
        if not result.get("isError"):
            sizes[tool["name"]] = len(json.dumps(result, separators=(",", ":")))
    return sizes


class PeakRss:
    """Sample a process's VmRSS every few milliseconds while a block runs."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()

    def rss(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(0.005)

    def __enter__(self) -> PeakRss:
        self.before = self.rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())


def big_file_memory(server: Any, emulator: Any, workdir: Path) -> dict[str, float | None]:
    """RSS before and peak during a 100 MB download_file and a 200 MB upload_file (idle = just before)."""
    emulator.control_json("add-file", {"path": "/Bench/big download.bin", "size": BIG_DOWNLOAD_BYTES})
    source = workdir / "uploads" / "big upload.bin"
    source.parent.mkdir(parents=True, exist_ok=True)
    with source.open("wb") as handle:  # real bytes on disk (not sparse), written in pieces
        block = bytes(range(256)) * 4096
        for _ in range(BIG_UPLOAD_BYTES // len(block)):
            handle.write(block)
    out: dict[str, float | None] = {}
    for label, call in (
        ("download_100mb", {"name": "download_file", "arguments": {"path": "Bench/big download.bin"}}),
        ("upload_200mb", {"name": "upload_file", "arguments": {"local_path": str(source), "folder": "Bench", "conflict": "replace",
                                                  "confirm": True}}),
    ):
        with PeakRss(server.process.pid) as meter:
            start = time.perf_counter()
            result = server.request("tools/call", call, timeout=600)
            elapsed = time.perf_counter() - start
        ok = not result.get("isError")
        out[f"{label}_idle_rss_mb"] = meter.before
        out[f"{label}_peak_rss_mb"] = meter.peak if ok else None
        out[f"{label}_peak_over_idle_mb"] = meter.peak - meter.before if ok else None
        out[f"{label}_s"] = elapsed if ok else None
    source.unlink()
    return out
