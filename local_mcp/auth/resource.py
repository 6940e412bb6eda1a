"""Resource-scoped token requests: every request names the API (resource) it is for.

MSAL Python has no `resource` parameter; this is ours, modelled on MSAL JS's MCP
mode. A request names its resource once, as the `resource` argument, and its
scopes by short name ("User.Read") or fully qualified under that resource
("https://graph.microsoft.com/User.Read"). A request without a resource, or with
the resource given again in extra query/body parameters or through a scope of
another resource, is refused with a typed error, so no token is ever minted for
an audience the caller did not mean.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..errors import MISPLACED_RESOURCE_PARAMETER, RESOURCE_PARAMETER_REQUIRED, ResourceParameterError

# MSAL adds these itself and refuses them in some calls.
OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})


@dataclass(frozen=True)
class TokenRequest:
    """A validated request: the resource, its short scope names, and the MSAL scope strings."""

    resource: str
    scopes: tuple[str, ...]  # short names, sorted, no OIDC scopes: the cache key
    extra_query_params: Mapping[str, str] = field(default_factory=dict)
    extra_body_params: Mapping[str, str] = field(default_factory=dict)

    @property
    def msal_scopes(self) -> list[str]:
        return [f"{self.resource}/{scope}" for scope in self.scopes]

    @property
    def key(self) -> tuple[str, tuple[str, ...]]:
        return (self.resource, self.scopes)


def normalize_resource(resource: str) -> str:
    """`https://graph.microsoft.com/` and `https://graph.microsoft.com` are the same resource."""
    resource = resource.strip().rstrip("/")
    parts = urlsplit(resource)
    if parts.scheme and parts.netloc:
        return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path}"
    return resource  # an app id URI such as api://<guid> or a bare GUID


def build_token_request(
    resource: str | None,
    scopes: Iterable[str],
    *,
    extra_query_params: Mapping[str, Any] | None = None,
    extra_body_params: Mapping[str, Any] | None = None,
) -> TokenRequest:
    """Validate a token request; raise ResourceParameterError with a typed code when it is malformed."""
    for where, params in (("extra_query_params", extra_query_params), ("extra_body_params", extra_body_params)):
        if params and any(str(name).lower() == "resource" for name in params):
            raise ResourceParameterError(
                MISPLACED_RESOURCE_PARAMETER,
                f"the resource must be given only as the `resource` argument, not inside {where}.",
            )
    if resource is None or not str(resource).strip():
        raise ResourceParameterError(
            RESOURCE_PARAMETER_REQUIRED,
            "a token request must name its resource (for example the Graph URL's origin, "
            "https://graph.microsoft.com); tokens are cached per resource.",
        )
    normalized = normalize_resource(str(resource))
    short: set[str] = set()
    for scope in scopes:
        scope = str(scope).strip()
        if not scope or scope.lower() in OIDC_SCOPES:
            continue
        short.add(_short_scope(normalized, scope))
    if not short:
        raise ValueError("a token request needs at least one scope besides openid/profile/offline_access")
    return TokenRequest(
        resource=normalized,
        scopes=tuple(sorted(short)),
        extra_query_params=dict(extra_query_params or {}),
        extra_body_params=dict(extra_body_params or {}),
    )


def _short_scope(resource: str, scope: str) -> str:
    if "://" not in scope and not scope.startswith("api:") and "/" not in scope:
        return scope
    prefix = resource + "/"
    if scope.lower().startswith(prefix.lower()):
        return scope[len(prefix) :]
    raise ResourceParameterError(
        MISPLACED_RESOURCE_PARAMETER,
        f"the scope {scope!r} belongs to another resource than {resource!r}; "
        "request each resource's scopes in its own token request.",
    )


def short_names(scopes: Sequence[str]) -> list[str]:
    """Scope strings from a token response, without resource prefix and OIDC scopes."""
    out = []
    for scope in scopes:
        if scope.lower() in OIDC_SCOPES:
            continue
        out.append(scope.rsplit("/", 1)[-1] if "://" in scope else scope)
    return sorted(set(out))
