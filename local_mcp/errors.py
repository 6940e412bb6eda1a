"""The one exception tree of local-mcp.

Every message is meant for the person (or the model) reading it: it says what
failed and what to do next, and it never contains a token, code or secret.

    LocalMcpError
    ├── ConfigError                      bad setting; the CLI exits with status 2
    ├── AuthError                        anything about signing in or tokens
    │   ├── CacheUnavailableError        the token cache cannot be opened safely
    │   ├── ResourceParameterError       .code: resource_parameter_required |
    │   │                                       misplaced_resource_parameter
    │   ├── AuthenticationRequiredError  interaction needed but not allowed now
    │   │   └── DeviceCodePendingError   a device-code sign-in waits for the user
    │   └── SignInFailedError            the identity provider said no (.error, .codes)
    ├── LocalFileError                   a file on this computer could not be written (.path, .errno)
    ├── DateRangeError                   a date, or a date plus a duration, is past year 9999 or before 1
    └── GraphError                       a Graph call failed (.status, .code, .request_id)
        └── UnexpectedAnswerError        Graph answered, but not in the shape its documentation gives
"""

from __future__ import annotations

from dataclasses import dataclass


class LocalMcpError(Exception):
    """Base of every error local-mcp raises on purpose."""


class ConfigError(LocalMcpError):
    """A setting is missing or invalid."""


class AuthError(LocalMcpError):
    """Signing in or getting a token failed."""


class CacheUnavailableError(AuthError):
    """The token cache cannot be used (no encryption available, locked, unreadable)."""


RESOURCE_PARAMETER_REQUIRED = "resource_parameter_required"
MISPLACED_RESOURCE_PARAMETER = "misplaced_resource_parameter"


class ResourceParameterError(AuthError):
    """A token request named no resource, or named it twice."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class AuthenticationRequiredError(AuthError):
    """A token needs user interaction that cannot happen in this call."""

    def __init__(self, message: str, *, scopes: list[str] | None = None, claims: str | None = None) -> None:
        super().__init__(message)
        self.scopes = list(scopes or [])
        self.claims = claims


@dataclass(frozen=True)
class DeviceCodePrompt:
    """What the user must do to finish a device-code sign-in.

    The user code is meant to be shown to the user (that is how the flow works);
    the secret device code that is polled with never leaves the token provider.
    """

    verification_uri: str
    user_code: str
    expires_at: float
    message: str


class DeviceCodePendingError(AuthenticationRequiredError):
    """A device-code sign-in has started and waits for the user."""

    def __init__(self, prompt: DeviceCodePrompt, *, scopes: list[str] | None = None) -> None:
        super().__init__(
            f"Sign-in required: open {prompt.verification_uri} and enter the code {prompt.user_code}. "
            "Sign-in continues in the background; call the tool again once you have signed in. "
            "(Or run `local-mcp login` in a terminal once: it signs in for every client.)",
            scopes=scopes,
        )
        self.prompt = prompt


class BrowserSignInPendingError(AuthenticationRequiredError):
    """A browser sign-in runs in the background; the person may open `url` if no window appeared."""

    def __init__(self, url: str, *, scopes: list[str] | None = None) -> None:
        super().__init__(
            f"Sign-in required: sign in to Microsoft in the browser window, or open {url}. Sign-in continues in the "
            "background; call the tool again once you have signed in.",
            scopes=scopes,
        )
        self.url = url


class SignInFailedError(AuthError):
    """The identity provider refused or the sign-in did not complete."""

    def __init__(self, message: str, *, error: str | None = None, codes: list[int] | None = None) -> None:
        super().__init__(message)
        self.error = error
        self.codes = list(codes or [])


class GraphError(LocalMcpError):
    """A Microsoft Graph request failed."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.request_id = request_id
        self.retryable = retryable
        self.retry_after = retry_after  # seconds, from Graph's Retry-After header


class LocalFileError(LocalMcpError):
    """Saving (or reading) a file on this computer failed: name too long, disk full, no permission."""

    def __init__(self, message: str, *, path: str | None = None, errno: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.errno = errno


class DateRangeError(LocalMcpError):
    """A date the call needs cannot be computed: before year 1 or after year 9999."""


class UnexpectedAnswerError(GraphError):
    """Graph's answer was not JSON, or not the object (or `value` list) its documentation describes."""


__all__ = [
    "LocalMcpError",
    "ConfigError",
    "AuthError",
    "CacheUnavailableError",
    "ResourceParameterError",
    "RESOURCE_PARAMETER_REQUIRED",
    "MISPLACED_RESOURCE_PARAMETER",
    "AuthenticationRequiredError",
    "DeviceCodePrompt",
    "DeviceCodePendingError",
    "SignInFailedError",
    "LocalFileError",
    "DateRangeError",
    "GraphError",
    "UnexpectedAnswerError",
]
