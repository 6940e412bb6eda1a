"""The `local-mcp` command: serve (the default), login, logout, accounts, status.

Exit codes: 0 success, 1 the operation failed, 2 bad configuration or usage.
While serving, stdout belongs to MCP; the subcommands write their results to stdout
and everything else to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from ._version import __version__
from .config import SETTINGS, Settings
from .errors import ConfigError, DeviceCodePendingError, LocalMcpError
from .logs import configure_logging

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("configuration (each flag has an environment variable twin)")
    for setting in SETTINGS:
        if setting.is_bool:
            group.add_argument(
                setting.flag, dest=setting.name, action="store_const", const=setting.flag_value,
                default=argparse.SUPPRESS, help=f"{setting.help} [{setting.env}={int(setting.flag_value)}]",
            )
        else:
            group.add_argument(setting.flag, dest=setting.name, default=argparse.SUPPRESS, metavar="VALUE",
                               help=f"{setting.help} [{setting.env}]")

    parser = argparse.ArgumentParser(
        prog="local-mcp",
        description="Local MCP server for Microsoft 365 (Microsoft Graph), signed in as you. "
        "With no command it serves MCP on stdio.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"local-mcp {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("serve", parents=[common], help="serve MCP on stdio (the default), or --transport http")
    login = commands.add_parser("login", parents=[common], help="sign in from this terminal (adds an account)")
    login.add_argument("--scopes", nargs="+", default=["User.Read"], metavar="SCOPE",
                       help="Graph scopes to consent to (default: User.Read)")
    login.add_argument("--force", action="store_true", help="kept for older scripts: login always asks (it adds an account)")
    logout = commands.add_parser("logout", parents=[common], help="remove an account (default: the active one) and its tokens")
    logout.add_argument("--account", metavar="USERNAME", help="username or home account id (see `local-mcp accounts`)")
    accounts = commands.add_parser("accounts", parents=[common], help="list the signed-in accounts (no network)")
    accounts.add_argument("--json", action="store_true", help="machine-readable output")
    status = commands.add_parser("status", parents=[common], help="show account, authority and cache (no tokens)")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument("--permissions", action="store_true", help="list the Graph scopes each tool asks for")
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {s.name: getattr(args, s.name, None) for s in SETTINGS if getattr(args, s.name, None) is not None}


def _out(text: str) -> None:
    print(text, file=sys.stdout, flush=True)  # stdout-ok: subcommand output; never runs while serving


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.load(overrides=_overrides(args))
    except ConfigError as exc:
        _err(f"local-mcp: configuration error: {exc}")
        return EXIT_USAGE
    configure_logging(settings.log_level)
    command = args.command or "serve"
    try:
        if command == "serve":
            return _serve(settings)
        import anyio

        if not getattr(args, "permissions", False):
            _check_cache_dir(settings)
        if command == "login":
            return anyio.run(_login, settings, args.scopes, args.force)
        if command == "logout":
            return anyio.run(_logout, settings, args.account)
        if command == "accounts":
            from .cli_accounts import list_accounts

            return anyio.run(list_accounts, settings, args.json, _out)
        if getattr(args, "permissions", False):
            return _permissions(settings, args.json)
        return anyio.run(_status, settings, args.json)
    except BaseException as raised:  # one or two lines for the person; the traceback only at DEBUG
        cause = _leaf(raised)
        if isinstance(cause, (SystemExit, GeneratorExit)):
            raise
        if settings.log_level == "DEBUG":
            traceback.print_exception(type(raised), raised, raised.__traceback__, file=sys.stderr)
        if isinstance(cause, KeyboardInterrupt):
            _err("local-mcp: cancelled")
            return EXIT_FAILED
        if isinstance(cause, ConfigError):
            _err(f"local-mcp: configuration error: {cause}")
            return EXIT_USAGE
        if isinstance(cause, LocalMcpError):
            _err(f"local-mcp: {cause}")
            return EXIT_FAILED
        detail = (str(cause).strip().splitlines() or [""])[0][:300]
        _err(f"local-mcp: unexpected error: {type(cause).__name__}: {detail}")
        _err("Run the same command with --log-level DEBUG for the details, and report it if it persists.")
        return EXIT_FAILED


def _leaf(exc: BaseException) -> BaseException:
    """The exception that matters inside (nested) exception groups from task groups."""
    while True:
        inner = getattr(exc, "exceptions", None)
        if not isinstance(inner, (list, tuple)) or not inner:
            return exc
        chosen = [e for e in inner if not _is_cancellation(e)] or list(inner)
        exc = chosen[0]


def _is_cancellation(exc: BaseException) -> bool:
    return type(exc).__name__ in ("CancelledError", "Cancelled")  # asyncio's / trio's


def _check_cache_dir(settings: Settings) -> None:
    from .auth.cache import CacheFolderError, cache_dir_problem

    folder = settings.resolved_cache_dir()
    problem = cache_dir_problem(folder)
    if problem:
        raise CacheFolderError(folder, problem)


WAITING_NOTICE = (
    "local-mcp is an MCP server: it now waits for an MCP client speaking JSON-RPC on stdin. "
    "To try it, run `local-mcp status` or `npx @modelcontextprotocol/inspector local-mcp`; "
    "to use it, add it to your MCP client's configuration. Ctrl-C stops it."
)


def _serve(settings: Settings) -> int:
    if sys.stdin is not None and sys.stdin.isatty():
        _err(WAITING_NOTICE)
    try:
        return _serve_until_stopped(settings)
    except KeyboardInterrupt:  # Ctrl-C while starting (or where the event loop cannot catch signals)
        return EXIT_OK


def _serve_until_stopped(settings: Settings) -> int:
    from ._gc import quiet_gc

    # Start-up creates hundreds of thousands of long-lived objects (the MCP SDK's modules and
    # models); see _gc.py. Measured: initialize ~10% faster, first Graph call ~200 -> ~150 ms.
    with quiet_gc():
        import anyio

        from .server import create_server
        from .stdio import serve_stdio

        # stdio: tools/list from the listing cache, the tools built when first needed (lazy.py).
        server = create_server(settings, lazy_tools=True)
    if settings.transport == "http":
        from .remote.http_app import serve_http

        try:
            anyio.run(serve_http, settings, server)
        except KeyboardInterrupt:
            pass
        return EXIT_OK
    anyio.run(serve_stdio, server)
    return EXIT_OK


async def _login(settings: Settings, scopes: list[str], force: bool) -> int:
    from .auth import progress
    from .auth.tokens import TokenProvider

    last_message = ""

    async def reporter(message: str, elapsed: float, total: float) -> None:
        nonlocal last_message
        if message != last_message:
            _err(message + " ...")
            last_message = message

    progress.current_reporter.set(reporter)
    async with TokenProvider(settings) as tokens:
        try:
            # Adds an account: the identity provider asks which one (a known one just gains the scopes).
            await tokens.sign_in(settings.graph_resource, scopes, add=True)
        except DeviceCodePendingError as pending_error:
            _err(pending_error.prompt.message)
            pending = tokens.pending_device_flow()
            if pending is not None:
                await tokens.wait_for_device_flow(pending, float(settings.sign_in_timeout), label="Waiting for you to sign in")
        status = await tokens.status()
    _out(f"Signed in as {status.username} ({', '.join(status.granted_scopes.get(settings.graph_resource, []))}).")
    return EXIT_OK


async def _logout(settings: Settings, account: str | None = None) -> int:
    from .auth.tokens import TokenProvider

    if account is not None:  # an unknown account: say which are known, before anything is built
        from .cli_accounts import check_account

        check_account(settings, account)

    async with TokenProvider(settings) as tokens:
        removed = await tokens.sign_out(account)
    _out(f"Signed out {', '.join(removed)}." if removed else "Nobody was signed in.")
    return EXIT_OK


def _permissions(settings: Settings, as_json: bool) -> int:
    from .server import tool_permissions

    tools = tool_permissions(settings)
    if as_json:
        _out(json.dumps([
            {"tool": t.name, "area": t.area, "scopes": list(t.scopes), "alternative_scopes": list(t.alternative_scopes), "write": t.write}
            for t in tools
        ], indent=2))
        return EXIT_OK
    _out(f"Delegated Microsoft Graph permissions, asked for by each tool on first use ({settings.graph_resource}):")
    for tool in tools:
        kind = "write (listed with --allow-writes)" if tool.write else "read"
        scopes = " ".join(tool.scopes) or "the scopes the call names"
        _out(f"  {tool.name:22s} {tool.area:9s} {scopes:40s} {kind}")
        if tool.alternative_scopes:
            _out(f"  {'':22s} {'':9s} {'or ' + ' '.join(tool.alternative_scopes):40s} (depending on the arguments)")
    _out("  sign_in                account   the scopes it is given                   -")
    _out("  sign_out, auth_status  account   none (local only)                        -")
    _out("  list_accounts          account   none (local only)                        -")
    _out("  switch_account         account   none (tokens from the cache)             -")
    return EXIT_OK


async def _status(settings: Settings, as_json: bool) -> int:
    from .auth.cache import SIGNAL_FILE_BACKENDS
    from .auth.tokens import TokenProvider

    folder = settings.resolved_cache_dir()
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        async with TokenProvider(settings) as tokens:
            status = await tokens.status()
    finally:  # a status report leaves no folder behind (sign-in creates it)
        for path in missing:
            try:
                path.rmdir()
            except OSError:
                break
    data = {
        "signed_in": status.signed_in,
        "username": status.username,
        "authority": status.authority,
        "graph_url": settings.graph_url,
        "auth_mode": status.auth_mode,
        "effective_auth_mode": status.effective_auth_mode,
        "cache": {
            "backend": status.cache_backend,
            "location": status.cache_location,
            "path": status.cache_path,
            "encrypted": status.cache_encrypted,
            "problem": status.cache_problem,
            "notice": status.cache_notice,
        },
        "granted_scopes": status.granted_scopes,
        "account_kind": status.account_kind,
        "tenant_id": status.tenant_id,
        "accounts_remembered": status.account_count,
    }
    if as_json:
        _out(json.dumps(data, indent=2))
        return EXIT_OK
    _out(f"Account:     {status.username or 'not signed in'}"
         + (f" ({status.account_kind}, tenant {status.tenant_id}; {status.account_count} signed in)" if status.username else ""))
    _out(f"Authority:   {status.authority}")
    _out(f"Graph:       {settings.graph_url}")
    _out(f"Sign-in:     {status.auth_mode} (now: {status.effective_auth_mode})")
    if status.cache_problem:
        _out(f"Token cache: unavailable - {status.cache_problem}")
    else:
        if status.cache_encrypted:
            _out(f"Token cache: {status.cache_backend}, encrypted: {status.cache_location}")
        else:
            _out(f"Token cache: NOT encrypted (plaintext, mode 0600): {status.cache_location}")
        if status.cache_backend in SIGNAL_FILE_BACKENDS:
            _out(f"Signal file: {status.cache_path} (no tokens: it tells other processes to reload)")
    if status.cache_notice:
        _out(f"Cache note:  {status.cache_notice}")
    for resource, granted in status.granted_scopes.items():
        _out(f"Scopes:      {resource}: {' '.join(granted)}")
    return EXIT_OK
