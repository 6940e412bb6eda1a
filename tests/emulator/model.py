"""Small value types shared across the emulator."""

from __future__ import annotations

from dataclasses import dataclass

# Well-known ids. The Graph app id is real (it is what Entra puts in `aud`
# when a client asks for bare scopes such as "User.Read"); the rest are
# arbitrary constants so that runs are reproducible.
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
DEFAULT_CLIENT_ID = "5b1d4a3e-7c2f-4e8a-9d61-0c3f2a9b8e17"
DEFAULT_OID = "8f2c6d1e-4b7a-4c3d-9e5f-1a2b3c4d5e6f"
DEFAULT_TID = "72f988bf-0000-4e6a-8c1d-5e0f4a3b2c19"
# The tenant of every personal Microsoft account (MSA) in Entra ID: the `tid` of their tokens
# (Microsoft identity platform docs, "ID token claims reference": tid).
MSA_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"


@dataclass(frozen=True)
class EmulatorUser:
    """A user of the emulator. The first one is `Emulator.user`; more come from `Emulator(users=...)`."""

    name: str = "Adele Vance"
    email: str = "adele@contoso.example"
    oid: str = DEFAULT_OID  # object id; also the Graph user id
    tid: str = DEFAULT_TID  # tenant id; the emulator's authority is /<tid>
    job_title: str = "Product Manager"
    office_location: str = "18/2111"
    business_phones: tuple[str, ...] = ("+1 425 555 0109",)
    mobile_phone: str | None = None
    preferred_language: str = "en-US"

    @property
    def is_personal(self) -> bool:
        """A personal Microsoft account (outlook.com, hotmail.com, ...), not a work or school one."""
        return self.tid == MSA_TENANT_ID

    @property
    def given_name(self) -> str:
        return self.name.split(" ", 1)[0]

    @property
    def surname(self) -> str:
        parts = self.name.split(" ", 1)
        return parts[1] if len(parts) > 1 else ""

    @property
    def domain(self) -> str:
        return self.email.rsplit("@", 1)[-1]


@dataclass
class Fault:
    """One queued failure; see `Emulator.inject` for what each field does."""

    status: int | None = None
    error: str | None = None
    retry_after: int | None = None
    claims_challenge: bool = False
    times: int = 1

    def retry_after_header(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
