"""local-mcp: a local MCP server for Microsoft 365 through Microsoft Graph, signed in as you."""

from ._version import __version__
from .config import Settings
from .errors import (
    AuthenticationRequiredError,
    AuthError,
    CacheUnavailableError,
    ConfigError,
    GraphError,
    LocalMcpError,
    ResourceParameterError,
    SignInFailedError,
)

__all__ = [
    "__version__",
    "main",
    "create_server",
    "Settings",
    "LocalMcpError",
    "ConfigError",
    "AuthError",
    "CacheUnavailableError",
    "AuthenticationRequiredError",
    "SignInFailedError",
    "ResourceParameterError",
    "GraphError",
]


def __getattr__(name: str):  # lazy: `import local_mcp` must not import the MCP SDK
    if name == "main":
        from .cli import main

        return main
    if name == "create_server":
        from .server import create_server

        return create_server
    raise AttributeError(name)
