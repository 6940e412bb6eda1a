"""What remote mode needs from Settings, checked once when Settings is built with transport=http."""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..config import Settings

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MIN_CACHE_KEY_LENGTH = 32
# The request body limit of the MCP endpoint (tool arguments are small; uploads are capped lower).
MAX_REQUEST_BODY_BYTES = 4 * 1024 * 1024


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def validate_remote(settings: Settings) -> None:
    """Raise ConfigError naming the setting and the fix; normalise values in place (frozen dataclass)."""
    from ..config import DEFAULT_CLIENT_ID

    set_ = object.__setattr__
    if settings.client_id == DEFAULT_CLIENT_ID:
        raise ConfigError(
            "--transport http needs the server's own app registration: set LOCAL_MCP_CLIENT_ID to its "
            "application (client) id (see README, Remote mode, Entra setup)."
        )
    url = settings.server_url.strip().rstrip("/")
    parts = urlsplit(url)
    if not url:
        raise ConfigError(
            "--transport http needs LOCAL_MCP_SERVER_URL, the public URL of the MCP endpoint such as "
            "https://mcp.contoso.com/mcp (it must equal the Application ID URI of the server's app registration)."
        )
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"LOCAL_MCP_SERVER_URL must be an https URL with no query (got {settings.server_url!r}).")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(
            f"LOCAL_MCP_SERVER_URL must use https (got {settings.server_url!r}); http:// is allowed only for "
            "127.0.0.1, ::1 and localhost. Terminate TLS at your platform and give its https URL."
        )
    if parts.path in ("", "/"):
        raise ConfigError(f"LOCAL_MCP_SERVER_URL must end with the MCP endpoint path /mcp (got {settings.server_url!r}).")
    set_(settings, "server_url", url)

    credentials = [name for name in ("client_secret", "client_secret_file", "client_certificate") if getattr(settings, name)]
    if len(credentials) != 1:
        raise ConfigError(
            "--transport http needs exactly one credential of the server's app registration: "
            "LOCAL_MCP_CLIENT_SECRET, LOCAL_MCP_CLIENT_SECRET_FILE or LOCAL_MCP_CLIENT_CERTIFICATE "
            f"(a PEM file with the certificate and its private key); got {len(credentials)}."
        )
    for name in ("client_secret_file", "client_certificate"):
        path = getattr(settings, name)
        if path is not None and not path.is_file():
            raise ConfigError(f"LOCAL_MCP_{name.upper()} names a file that does not exist: {path}.")

    tenant = settings.tenant_id
    allowed = tuple(t.lower() for t in settings.allowed_tenants)
    for tid in allowed:
        if not _GUID.match(tid):
            raise ConfigError(f"LOCAL_MCP_ALLOWED_TENANTS must list tenant ids (GUIDs); got {tid!r}.")
    set_(settings, "allowed_tenants", allowed)
    if tenant.lower() == "organizations":
        if not allowed:
            raise ConfigError(
                "LOCAL_MCP_TENANT_ID=organizations in remote mode needs LOCAL_MCP_ALLOWED_TENANTS, the "
                "comma-separated tenant ids whose users may call this server."
            )
    elif not _GUID.match(tenant):
        raise ConfigError(
            "--transport http needs LOCAL_MCP_TENANT_ID to be the tenant id (a GUID), or organizations with "
            f"LOCAL_MCP_ALLOWED_TENANTS (got {tenant!r}): token issuers are matched by tenant id."
        )

    scopes = tuple(s for s in settings.required_scopes if s)
    if not scopes or any("/" in s or " " in s for s in scopes):
        raise ConfigError(
            "LOCAL_MCP_REQUIRED_SCOPES must list scope names of the server's API such as user_impersonation "
            f"(got {','.join(settings.required_scopes)!r})."
        )
    set_(settings, "required_scopes", scopes)
    if not 0 < settings.port < 65536:
        raise ConfigError(f"LOCAL_MCP_PORT must be between 1 and 65535 (got {settings.port}).")
    if settings.redis_url:
        if urlsplit(settings.redis_url).scheme not in ("redis", "rediss", "unix"):
            raise ConfigError("LOCAL_MCP_REDIS_URL must be a redis://, rediss:// or unix:// URL.")
        if not settings.cache_key:
            raise ConfigError(
                "LOCAL_MCP_REDIS_URL needs LOCAL_MCP_CACHE_KEY, the key that encrypts the shared token cache; "
                "make one with: python -c \"import secrets; print(secrets.token_urlsafe(32))\" and give every "
                "replica the same value."
            )
    if settings.cache_key and len(settings.cache_key) < MIN_CACHE_KEY_LENGTH:
        raise ConfigError(f"LOCAL_MCP_CACHE_KEY must be at least {MIN_CACHE_KEY_LENGTH} characters of random text.")


def authority_base(settings: Settings) -> str:
    """https://login.microsoftonline.com (scheme, host and port of the authority)."""
    parts = urlsplit(settings.authority)
    return f"{parts.scheme}://{parts.netloc}"


def accepted_tenants(settings: Settings) -> tuple[str, ...]:
    if settings.tenant_id.lower() == "organizations":
        return settings.allowed_tenants
    return (settings.tenant_id.lower(),)


def issuer_for(settings: Settings, tenant_id: str) -> str:
    """The v2.0 issuer of a tenant's tokens: https://login.microsoftonline.com/<tid>/v2.0."""
    return f"{authority_base(settings)}/{tenant_id}/v2.0"


def authorization_server(settings: Settings) -> str:
    """What the protected resource metadata names as authorization server: the tenant's v2.0 issuer."""
    tenant = settings.tenant_id.lower()
    return issuer_for(settings, tenant)


def resource_scopes(settings: Settings) -> list[str]:
    """Fully qualified scopes a client asks Entra for: <server url>/user_impersonation."""
    return [f"{settings.server_url}/{scope}" for scope in settings.required_scopes]


def metadata_url(settings: Settings) -> str:
    """RFC 9728 §3.1: /.well-known/oauth-protected-resource inserted before the resource's path."""
    parts = urlsplit(settings.server_url)
    return f"{parts.scheme}://{parts.netloc}/.well-known/oauth-protected-resource{parts.path}"


def client_secret(settings: Settings) -> str | None:
    if settings.client_secret:
        return settings.client_secret
    if settings.client_secret_file is not None:
        return settings.client_secret_file.read_text(encoding="utf-8").strip()
    return None
