"""Bytes of `tools/list` from the real `local-mcp` process, per tool set, and what they are made of.

    python benchmarks/tools_list_bytes.py [--toolsets mail,calendar] [--allow-writes] [--tool-icons] [--per-tool]

Needs no sign-in and no emulator: it spawns `python -m local_mcp` over stdio (a fresh HOME),
sends `initialize` and `tools/list`, and counts the bytes of the answer's line as it came off
stdout. bench.py reports the same figure for the default tool set with writes off; this
script is quick enough to run after each change to a tool. It measures; it never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench import StdioServer  # noqa: E402  (next to this script)


def measure(toolsets: str | None, allow_writes: bool, tool_icons: bool = False) -> tuple[int, list[dict]]:
    with tempfile.TemporaryDirectory() as home:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "PYTHONPATH": str(ROOT),
               "LOCAL_MCP_LOG_LEVEL": "ERROR", "LOCAL_MCP_PRELOAD": "0"}
        if toolsets:
            env["LOCAL_MCP_TOOLSETS"] = toolsets
        if allow_writes:
            env["LOCAL_MCP_ALLOW_WRITES"] = "1"
        if tool_icons:
            env["LOCAL_MCP_TOOL_ICONS"] = "1"
        server = StdioServer([sys.executable, "-m", "local_mcp"], env)
        try:
            server.initialize()
            result = server.request("tools/list")
            return server.answer_bytes, result["tools"]
        finally:
            server.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--toolsets", help="LOCAL_MCP_TOOLSETS for the run (default: all areas)")
    parser.add_argument("--allow-writes", action="store_true", help="list the write tools too")
    parser.add_argument("--tool-icons", action="store_true", help="with LOCAL_MCP_TOOL_ICONS=1")
    parser.add_argument("--per-tool", action="store_true", help="one line per tool, biggest first")
    args = parser.parse_args()
    total, tools = measure(args.toolsets, args.allow_writes, args.tool_icons)
    parts: dict[str, int] = {}
    for tool in tools:
        for key, value in tool.items():
            parts[key] = parts.get(key, 0) + len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    print(json.dumps({"tools": len(tools), "tools_list_bytes": total, "bytes_by_field": parts}, indent=2))
    if args.per_tool:
        for tool in sorted(tools, key=lambda t: -len(json.dumps(t, ensure_ascii=False).encode())):
            print(f"{len(json.dumps(tool, separators=(',', ':'), ensure_ascii=False).encode()):6d}  {tool['name']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
