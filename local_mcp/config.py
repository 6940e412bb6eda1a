"""Settings: read once from LOCAL_MCP_* variables and command-line flags, validated once.

Nothing here imports MSAL, msgraph or platformdirs: the server must answer
`initialize` before any of them is loaded.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from .errors import ConfigError

AuthMode = Literal["auto", "broker", "browser", "device_code"]
AUTH_MODES: tuple[str, ...] = ("auto", "broker", "browser", "device_code")
KEYRING_BACKENDS: tuple[str, ...] = ("auto", "libsecret", "secretstorage")

# Microsoft Graph Command Line Tools: a Microsoft-published public client that
# allows the browser and device-code flows and is pre-consented in many tenants.
DEFAULT_CLIENT_ID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"
DEFAULT_TENANT = "organizations"
DEFAULT_SIGN_IN_TIMEOUT = 300
APP_NAME = "local-mcp"


@dataclass(frozen=True)
class Cloud:
    name: str
    authority_host: str
    graph_url: str


CLOUDS: dict[str, Cloud] = {
    "public": Cloud("public", "login.microsoftonline.com", "https://graph.microsoft.com/v1.0"),
    "usgov": Cloud("usgov", "login.microsoftonline.us", "https://graph.microsoft.us/v1.0"),
    # US Government L5 (DOD): its own Graph host, the same Entra endpoint as L4
    # (https://learn.microsoft.com/graph/deployments).
    "usgov-dod": Cloud("usgov-dod", "login.microsoftonline.us", "https://dod-graph.microsoft.us/v1.0"),
    # 21Vianet: MSAL marks login.chinacloudapi.cn deprecated (msal.authority.DEPRECATED_AZURE_CHINA).
    "china": Cloud("china", "login.partner.microsoftonline.cn", "https://microsoftgraph.chinacloudapi.cn/v1.0"),
}
KNOWN_AUTHORITY_HOSTS = frozenset(cloud.authority_host for cloud in CLOUDS.values()) | {
    "login.windows.net",
    "login.microsoft.com",
    "login.chinacloudapi.cn",  # deprecated China host, still accepted by MSAL
    "sts.windows.net",
}

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-zA-Z0-9-]{1,63}\.)+[a-zA-Z]{2,63}$")
_TENANT_WORDS = ("organizations", "common", "consumers")


@dataclass(frozen=True)
class Setting:
    """One configuration knob: its env variable, its flag, and how to read it."""

    name: str
    env: str
    flag: str
    help: str
    is_bool: bool = False
    flag_value: bool = True  # what a bool flag sets (False for a --no-... flag)


SETTINGS: tuple[Setting, ...] = (
    Setting("client_id", "LOCAL_MCP_CLIENT_ID", "--client-id", "application (client) id of the public client app"),
    Setting("tenant_id", "LOCAL_MCP_TENANT_ID", "--tenant-id", "tenant id or domain, or organizations / common / consumers"),
    Setting("cloud", "LOCAL_MCP_CLOUD", "--cloud", "public, usgov, usgov-dod or china: sets the authority and Graph hosts together"),
    Setting("authority", "LOCAL_MCP_AUTHORITY", "--authority", "full authority URL; overrides --cloud and --tenant-id"),
    Setting("graph_url", "LOCAL_MCP_GRAPH_URL", "--graph-url", "Graph base URL including the version, e.g. https://graph.microsoft.com/v1.0"),
    Setting("auth_mode", "LOCAL_MCP_AUTH_MODE", "--auth-mode", "auto, broker, browser or device_code"),
    Setting("cache_dir", "LOCAL_MCP_CACHE_DIR", "--cache-dir", "folder for the token cache and the account record"),
    Setting(
        "allow_unencrypted_cache",
        "LOCAL_MCP_ALLOW_UNENCRYPTED_CACHE",
        "--allow-unencrypted-cache",
        "allow a plaintext token cache (mode 0600) when encryption is impossible",
        is_bool=True,
    ),
    Setting(
        "keyring_backend",
        "LOCAL_MCP_KEYRING_BACKEND",
        "--keyring-backend",
        "Linux only: how to reach the Secret Service keyring: auto (libsecret if PyGObject works, else "
        "SecretStorage), libsecret or secretstorage",
    ),
    Setting("sign_in_timeout", "LOCAL_MCP_SIGN_IN_TIMEOUT", "--sign-in-timeout", "seconds an interactive sign-in may take"),
    Setting("log_level", "LOCAL_MCP_LOG_LEVEL", "--log-level", "DEBUG, INFO, WARNING or ERROR (logs go to stderr)"),
    Setting(
        "allow_writes",
        "LOCAL_MCP_ALLOW_WRITES",
        "--allow-writes",
        "list the tools that send, create or change things (read-only without it)",
        is_bool=True,
    ),
    Setting("download_dir", "LOCAL_MCP_DOWNLOAD_DIR", "--download-dir", "folder where downloaded files and attachments are saved"),
    Setting(
        "confirm_writes",
        "LOCAL_MCP_CONFIRM_WRITES",
        "--confirm-writes",
        "who confirms writes: elicit (the user, through the client; default) or model (also the model's "
        "confirm=true when the client cannot ask; a manipulated model could then write on its own)",
    ),
    Setting(
        "upload_dirs",
        "LOCAL_MCP_UPLOAD_DIRS",
        "--upload-dirs",
        f"folders upload_file may read from, separated by {os.pathsep!r} (default: the download folder)",
    ),
    Setting(
        "toolsets",
        "LOCAL_MCP_TOOLSETS",
        "--toolsets",
        "comma-separated tool areas to list: mail, calendar, files, people, search, tasks, contacts, teams, "
        "graph, or all (the default); the account tools are always listed",
    ),
    # Remote mode (serve --transport http); checked in remote/settings.py.
    Setting("transport", "LOCAL_MCP_TRANSPORT", "--transport", "stdio (one person, this machine) or http (remote mode, Entra-protected)"),
    Setting("host", "LOCAL_MCP_HOST", "--host", "http: address to listen on"),
    Setting("port", "LOCAL_MCP_PORT", "--port", "http: TCP port to listen on"),
    Setting("server_url", "LOCAL_MCP_SERVER_URL", "--server-url", "http: public URL of the MCP endpoint, e.g. https://mcp.contoso.com/mcp (= the Application ID URI)"),
    Setting("client_secret", "LOCAL_MCP_CLIENT_SECRET", "--client-secret", "http: the server app's client secret (prefer --client-secret-file)"),
    Setting("client_secret_file", "LOCAL_MCP_CLIENT_SECRET_FILE", "--client-secret-file", "http: file holding the server app's client secret"),
    Setting("client_certificate", "LOCAL_MCP_CLIENT_CERTIFICATE", "--client-certificate", "http: PEM file with the server app's certificate and private key"),
    Setting("required_scopes", "LOCAL_MCP_REQUIRED_SCOPES", "--required-scopes", "http: scopes of the server's API an inbound token must carry (comma-separated)"),
    Setting("allowed_tenants", "LOCAL_MCP_ALLOWED_TENANTS", "--allowed-tenants", "http with tenant organizations: tenant ids whose users may call (comma-separated)"),
    Setting("redis_url", "LOCAL_MCP_REDIS_URL", "--redis-url", "http: Redis URL for an OBO token cache shared by replicas"),
    Setting("cache_key", "LOCAL_MCP_CACHE_KEY", "--cache-key", "http: key that encrypts the Redis token cache and signs request state (required with Redis)"),
    Setting(
        "http_sessions",
        "LOCAL_MCP_HTTP_SESSIONS",
        "--http-sessions",
        "http: stateful MCP sessions with SSE responses, so that MCP 2025-11-25 clients are asked to confirm "
        "writes mid-call; sessions live in one process: one replica, or sticky sessions on Mcp-Session-Id",
        is_bool=True,
    ),
)
SETTINGS += (
    Setting(
        "preload",
        "LOCAL_MCP_PRELOAD",
        "--no-preload",
        "after initialize, load the Graph / MSAL / cache stack in the background while idle (no network, no "
        "sign-in) so the first tool call is as fast as later ones; --no-preload or LOCAL_MCP_PRELOAD=0 turns it off",
        is_bool=True,
        flag_value=False,
    ),
    Setting(
        "tool_icons",
        "LOCAL_MCP_TOOL_ICONS",
        "--tool-icons",
        "give every tool its area's icon (MCP icons, for clients that draw them; ~10 KB more in tools/list)",
        is_bool=True,
    ),
)
CONFIRM_MODES: tuple[str, ...] = ("elicit", "model")

# Tool areas that LOCAL_MCP_TOOLSETS picks from ("account" is always on).
TOOLSETS: tuple[str, ...] = ("mail", "calendar", "files", "people", "search", "tasks", "contacts", "teams", "graph")

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


@dataclass(frozen=True)
class Settings:
    """Validated configuration. Build it with `Settings.load()` (env + flags) or directly in tests."""

    client_id: str = DEFAULT_CLIENT_ID
    tenant_id: str = DEFAULT_TENANT
    cloud: str = "public"
    authority: str = ""  # filled by validation when empty
    graph_url: str = ""  # filled by validation when empty
    auth_mode: AuthMode = "auto"
    cache_dir: Path | None = None  # None: platformdirs' user data dir, resolved lazily
    allow_unencrypted_cache: bool = False
    keyring_backend: str = "auto"  # Linux: auto | libsecret | secretstorage; ignored elsewhere
    sign_in_timeout: int = DEFAULT_SIGN_IN_TIMEOUT
    log_level: str = "WARNING"
    allow_writes: bool = False
    download_dir: Path | None = None  # None: platformdirs' downloads dir + /local-mcp, resolved lazily
    confirm_writes: str = "elicit"  # elicit: only the user's answer counts; model: confirm=true counts without elicitation
    upload_dirs: tuple[Path, ...] = ()  # (): the download folder only
    toolsets: tuple[str, ...] = TOOLSETS  # the areas whose tools are listed (account always)
    preload: bool = True  # load the Graph/MSAL stack in the background after initialize (preload.py)
    tool_icons: bool = False  # an icon per tool area in tools/list (tools/icons.py); off: the 24 KB budget
    # Remote mode (see remote/settings.py); secrets never appear in a repr.
    transport: str = "stdio"
    host: str = "127.0.0.1"
    port: int = 8000
    server_url: str = ""
    client_secret: str = field(default="", repr=False)
    client_secret_file: Path | None = None
    client_certificate: Path | None = None
    required_scopes: tuple[str, ...] = ("user_impersonation",)
    allowed_tenants: tuple[str, ...] = ()
    redis_url: str = field(default="", repr=False)
    cache_key: str = field(default="", repr=False)
    http_sessions: bool = False  # stateful Streamable HTTP (SSE) instead of stateless JSON; see remote/http_app.py

    def __post_init__(self) -> None:
        _validate(self)

    # ----- derived values -------------------------------------------------------------------

    @property
    def graph_resource(self) -> str:
        """The resource (audience) that Graph tokens are requested for: the Graph URL's origin."""
        parts = urlsplit(self.graph_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def graph_host(self) -> str:
        return urlsplit(self.graph_url).hostname or ""

    @property
    def authority_host(self) -> str:
        return urlsplit(self.authority).hostname or ""

    @property
    def authority_is_known_to_microsoft(self) -> bool:
        """MSAL's instance discovery only works for Microsoft's own hosts; others need it off."""
        return self.authority_host in KNOWN_AUTHORITY_HOSTS

    def toolset_enabled(self, area: str) -> bool:
        """Are the tools of `area` listed? (account always is.)"""
        return area == "account" or area in self.toolsets

    def resolved_cache_dir(self) -> Path:
        """Where the token cache lives. platformdirs is imported only when this is first needed."""
        if self.cache_dir is not None:
            return self.cache_dir
        import platformdirs

        return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))

    def resolved_download_dir(self) -> Path:
        """Where download tools save files (created on first use)."""
        if self.download_dir is not None:
            return self.download_dir
        import platformdirs

        return Path(platformdirs.user_downloads_dir()) / APP_NAME

    def resolved_upload_dirs(self) -> tuple[Path, ...]:
        """Folders upload_file may read from: LOCAL_MCP_UPLOAD_DIRS, else the download folder."""
        return self.upload_dirs or (self.resolved_download_dir(),)

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None) -> Settings:
        """Read LOCAL_MCP_* from `environ` (default os.environ); `overrides` (flags) win."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = env.get(setting.env)
            if raw is not None and raw.strip() != "":
                values[setting.name] = _parse(setting, raw.strip())
        flags = [s for s in SETTINGS if (overrides or {}).get(s.name) is not None]
        try:
            for setting in flags:
                value = (overrides or {})[setting.name]
                values[setting.name] = value if not isinstance(value, str) else _parse(setting, value.strip())
            return cls(**values)
        except ConfigError as exc:  # name what the person typed: the flag, not its environment twin
            message = str(exc)
            for setting in flags:
                message = message.replace(setting.env, setting.flag)
            raise ConfigError(message) from None

    def with_changes(self, **changes: Any) -> Settings:
        """A copy with some values changed (authority/graph_url re-derived unless given)."""
        if "cloud" in changes or "tenant_id" in changes:
            changes.setdefault("authority", "")
            changes.setdefault("graph_url", "")
        return replace(self, **changes)


def _parse(setting: Setting, raw: str) -> Any:
    if setting.is_bool:
        lowered = raw.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ConfigError(f"{setting.env} must be 1 or 0 (got {raw!r}).")
    if setting.name in ("required_scopes", "allowed_tenants"):
        return tuple(part.strip() for part in raw.replace(" ", ",").split(",") if part.strip())
    if setting.name == "port":
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{setting.env} must be a TCP port number (got {raw!r}).") from None
    if setting.name == "sign_in_timeout":
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{setting.env} must be a whole number of seconds (got {raw!r}).") from None
    if setting.name in ("cache_dir", "download_dir", "client_secret_file", "client_certificate"):
        return Path(raw).expanduser()
    if setting.name == "upload_dirs":
        return tuple(Path(part.strip()).expanduser() for part in raw.split(os.pathsep) if part.strip())
    if setting.name == "toolsets":
        return parse_toolsets(raw)
    return raw


def parse_toolsets(raw: str) -> tuple[str, ...]:
    """"mail, calendar" -> ("mail", "calendar"); "all" -> every area; an unknown name is a clear error."""
    names = [n.strip().lower() for n in raw.replace(";", ",").split(",") if n.strip()]
    if not names or "all" in names:
        return TOOLSETS
    unknown = [n for n in names if n not in TOOLSETS and n != "account"]
    if unknown:
        raise ConfigError(
            f"LOCAL_MCP_TOOLSETS names unknown tool areas {', '.join(unknown)}; use a comma-separated list of "
            f"{', '.join(TOOLSETS)}, or all (the account tools are always listed)."
        )
    return tuple(area for area in TOOLSETS if area in names)  # a stable order, whatever the input's


def _validate(settings: Settings) -> None:
    # frozen dataclass: derived defaults are filled with object.__setattr__, once.
    set_ = object.__setattr__

    if not _GUID.match(settings.client_id):
        raise ConfigError(
            f"LOCAL_MCP_CLIENT_ID must be an application (client) id, a GUID (got {settings.client_id!r})."
        )
    tenant = settings.tenant_id
    if not (tenant.lower() in _TENANT_WORDS or _GUID.match(tenant) or _DOMAIN.match(tenant)):
        raise ConfigError(
            "LOCAL_MCP_TENANT_ID must be a tenant id (GUID), a domain such as contoso.onmicrosoft.com, "
            f"or one of organizations, common, consumers (got {tenant!r})."
        )
    cloud = CLOUDS.get(settings.cloud.lower())
    if cloud is None:
        raise ConfigError(f"LOCAL_MCP_CLOUD must be one of {', '.join(CLOUDS)} (got {settings.cloud!r}).")
    set_(settings, "cloud", cloud.name)

    authority = settings.authority or f"https://{cloud.authority_host}/{tenant}"
    authority = authority.rstrip("/")
    parts = urlsplit(authority)
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(
            f"LOCAL_MCP_AUTHORITY must be an https URL such as https://login.microsoftonline.com/<tenant> "
            f"(got {settings.authority!r}); MSAL refuses other schemes."
        )
    if parts.query or parts.fragment or len([p for p in parts.path.split("/") if p]) < 1:
        raise ConfigError(
            f"LOCAL_MCP_AUTHORITY must be https://<host>/<tenant> with no query (got {settings.authority!r})."
        )
    set_(settings, "authority", authority)

    graph_url = (settings.graph_url or cloud.graph_url).rstrip("/")
    gparts = urlsplit(graph_url)
    if gparts.scheme != "https" or not gparts.hostname:
        raise ConfigError(f"LOCAL_MCP_GRAPH_URL must be an https URL (got {settings.graph_url!r}).")
    if not re.search(r"/(v1\.0|beta)$", gparts.path):
        raise ConfigError(
            "LOCAL_MCP_GRAPH_URL must include the API version, e.g. https://graph.microsoft.com/v1.0 "
            f"(got {settings.graph_url!r})."
        )
    if gparts.query or gparts.fragment:
        raise ConfigError(f"LOCAL_MCP_GRAPH_URL must not have a query (got {settings.graph_url!r}).")
    set_(settings, "graph_url", graph_url)

    mode = settings.auth_mode.lower().replace("-", "_")
    if mode not in AUTH_MODES:
        raise ConfigError(f"LOCAL_MCP_AUTH_MODE must be one of {', '.join(AUTH_MODES)} (got {settings.auth_mode!r}).")
    set_(settings, "auth_mode", mode)

    keyring = settings.keyring_backend.lower()
    if keyring not in KEYRING_BACKENDS:
        raise ConfigError(
            f"LOCAL_MCP_KEYRING_BACKEND must be one of {', '.join(KEYRING_BACKENDS)} (got {settings.keyring_backend!r})."
        )
    set_(settings, "keyring_backend", keyring)

    if not 10 <= settings.sign_in_timeout <= 3600:
        raise ConfigError(
            f"LOCAL_MCP_SIGN_IN_TIMEOUT must be between 10 and 3600 seconds (got {settings.sign_in_timeout})."
        )
    level = settings.log_level.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"LOCAL_MCP_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR (got {settings.log_level!r}).")
    set_(settings, "log_level", level)
    if isinstance(settings.toolsets, str):
        set_(settings, "toolsets", parse_toolsets(settings.toolsets))
    else:
        set_(settings, "toolsets", parse_toolsets(",".join(settings.toolsets)))
    for name in ("cache_dir", "download_dir"):
        value = getattr(settings, name)
        if value is not None:
            set_(settings, name, Path(value).expanduser())
    confirm = str(settings.confirm_writes).strip().lower()
    if confirm not in CONFIRM_MODES:
        raise ConfigError(f"LOCAL_MCP_CONFIRM_WRITES must be elicit or model (got {settings.confirm_writes!r}).")
    set_(settings, "confirm_writes", confirm)
    uploads = tuple(Path(p).expanduser() for p in settings.upload_dirs)
    relative = [str(p) for p in uploads if not p.is_absolute()]
    if relative:
        raise ConfigError(f"LOCAL_MCP_UPLOAD_DIRS must list absolute folders (got {relative[0]!r}).")
    set_(settings, "upload_dirs", uploads)
    transport = settings.transport.lower()
    if transport not in ("stdio", "http"):
        raise ConfigError(f"LOCAL_MCP_TRANSPORT must be stdio or http (got {settings.transport!r}).")
    set_(settings, "transport", transport)
    if transport == "http":
        from .remote.settings import validate_remote

        validate_remote(settings)
