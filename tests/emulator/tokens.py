"""RS256 signing key and JWT helpers shared by the identity and Graph halves."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterable
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


def b64url(data: bytes) -> str:
    """Unpadded base64url, as used by JWTs, PKCE and MSAL's client_info."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(payload: dict[str, Any]) -> str:
    return b64url(json.dumps(payload, separators=(",", ":")).encode("utf-8"))


class SigningKey:
    """One RSA key per emulator: tokens from another emulator never validate."""

    def __init__(self) -> None:
        self._private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        # Entra publishes the same value as `kid` and `x5t`; clients look up either.
        self.kid = b64url(secrets.token_bytes(20))

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(
            claims, self._private, algorithm="RS256",
            headers={"typ": "JWT", "kid": self.kid, "x5t": self.kid},
        )

    def verify(self, token: str, *, audiences: Iterable[str], issuer: str) -> dict[str, Any]:
        """Decode and validate; raises a `jwt.InvalidTokenError` subclass on failure.

        No leeway: tests that shorten lifetimes expect expiry to be exact.
        """
        return jwt.decode(
            token, self._private.public_key(), algorithms=["RS256"],
            audience=list(audiences), issuer=issuer,
            options={"require": ["exp", "iat", "aud", "iss"]},
        )

    def jwks(self, issuer: str) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self._private.public_key(), as_dict=True)
        jwk.update(kid=self.kid, x5t=self.kid, use="sig", issuer=issuer)
        return {"keys": [jwk]}
