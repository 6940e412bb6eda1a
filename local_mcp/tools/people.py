"""People and directory tools: people you work with, colleagues' profiles, managers.

Permissions, per Microsoft's documentation (least privileged first):
- /me/people: People.Read (users may consent themselves).
- /users/{id}: User.ReadBasic.All covers only the basic profile (name, email, UPN);
  job title, department, office and phones need User.Read.All, which most tenants
  reserve for administrator consent. get_user asks for User.ReadBasic.All only when
  called with full_profile=false.
- /me/manager and /users/{id}/manager: User.Read.All.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, unquote

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import InputRequiredResult
from pydantic import BaseModel, Field

from ..errors import GraphError
from ._common import (
    CURSOR_FIELD,
    DEFAULT_LIMIT,
    LIMIT_FIELD,
    PageInfo,
    clamp_limit,
    fetch_page,
    graph_tool,
    odata_quote,
    short_text,
)
from ._runtime import run_tool, state_of
from .personal import refuse_for_personal_account

PEOPLE_READ = ("People.Read",)
USER_READ_BASIC_ALL = ("User.ReadBasic.All",)
USER_READ_ALL = ("User.Read.All",)

_PERSON_FIELDS = (
    "id,displayName,scoredEmailAddresses,jobTitle,department,officeLocation,companyName,userPrincipalName,"
    "phones,personType"
)
_BASIC_USER_FIELDS = "id,displayName,givenName,surname,mail,userPrincipalName"
_FULL_USER_FIELDS = _BASIC_USER_FIELDS + ",jobTitle,department,officeLocation,businessPhones,mobilePhone"


class Phone(BaseModel):
    type: str | None = Field(default=None, description="business, mobile, home, ...")
    number: str


class Person(BaseModel):
    id: str
    name: str | None
    email: str | None = Field(default=None, description="the most relevant email address")
    job_title: str | None = None
    department: str | None = None
    office: str | None = None
    company: str | None = None
    phones: list[Phone] = Field(default_factory=list)
    kind: str | None = Field(default=None, description="OrganizationUser, PersonalContact, ImplicitContact, group, ...")
    user_principal_name: str | None = None


class PeopleList(BaseModel):
    query: str
    people: list[Person]
    page: PageInfo


class User(BaseModel):
    id: str
    name: str | None
    email: str | None = None
    user_principal_name: str | None = None
    job_title: str | None = None
    department: str | None = None
    office: str | None = None
    business_phones: list[str] = Field(default_factory=list)
    mobile_phone: str | None = None
    full_profile: bool = Field(description="false: only the basic profile was read (no job, department, office, phones)")


class ManagerResult(BaseModel):
    of: str = Field(description='"me", or the user whose manager this is')
    manager: User | None = Field(description="null when the directory names no manager")
    message: str


def person(item: dict[str, Any]) -> Person:
    emails = [e for e in item.get("scoredEmailAddresses") or [] if isinstance(e, dict) and e.get("address")]
    kind = found if isinstance(found := item.get("personType"), dict) else {}
    return Person(
        id=str(item.get("id", "")),
        name=item.get("displayName"),
        email=emails[0]["address"] if emails else None,
        job_title=item.get("jobTitle"),
        department=item.get("department"),
        office=item.get("officeLocation"),
        company=item.get("companyName"),
        phones=[
            Phone(type=p.get("type"), number=str(p["number"]))
            for p in item.get("phones") or []
            if isinstance(p, dict) and p.get("number")
        ],
        kind=kind.get("subclass") or kind.get("class"),
        user_principal_name=item.get("userPrincipalName"),
    )


def user_profile(item: dict[str, Any], *, full: bool) -> User:
    return User(
        id=str(item.get("id", "")),
        name=item.get("displayName"),
        email=item.get("mail"),
        user_principal_name=item.get("userPrincipalName"),
        job_title=item.get("jobTitle"),
        department=item.get("department"),
        office=item.get("officeLocation"),
        business_phones=[str(p) for p in item.get("businessPhones") or [] if p],
        mobile_phone=item.get("mobilePhone"),
        full_profile=full,
    )


def _who(value: str) -> str:
    who = value.strip()
    # '#' stays: guests' UPNs hold '#EXT#' (percent-encoded in the path as %23).
    if not who or any(c in who for c in "/\\?") or unquote(unquote(unquote(who))).strip() in (".", "..") or len(who) > 320:
        raise ToolError(f"`user` must be a user id, user principal name or email address (got {short_text(value)!r}).")
    return who


async def find_user(graph: Any, who: str, *, select: str, scopes: tuple[str, ...]) -> dict[str, Any]:
    """A directory user by id or UPN, or else (for an address) by their primary email."""
    try:
        return await graph.get_json(f"/users/{quote(who, safe='@')}", scopes=scopes, params={"$select": select})
    except GraphError as exc:
        if exc.status not in (400, 404) or "@" not in who:
            raise
    found = await graph.get_json(
        "/users", scopes=scopes, params={"$filter": f"mail eq {odata_quote(who)}", "$select": select, "$top": 1}
    )
    values = found.get("value") or []
    if not values:
        raise ToolError(f"No user with the id, user principal name or email {who!r} in your organisation's directory.")
    return values[0]


def register(server: MCPServer[Any], settings: Any) -> None:
    @graph_tool(
        server,
        settings,
        name="search_people",
        title="Search people",
        description=(
            "Find people the signed-in user works or communicates with by name or email (fuzzy), most relevant "
            "first, with email, job title, department, office and phones."
        ),
        area="people",
        scopes=PEOPLE_READ,
    )
    async def search_people(
        ctx: Context,
        query: Annotated[str, Field(min_length=1, description="a name, part of a name, or an email address")],
        limit: Annotated[int, LIMIT_FIELD] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, CURSOR_FIELD] = None,
    ) -> PeopleList | InputRequiredResult:
        state = state_of(ctx)
        words = query.replace('"', " ").strip()
        if not words:
            raise ToolError("`query` must contain a name or an email address.")
        params = {"$search": f'"{words}"', "$select": _PERSON_FIELDS}

        async def body() -> PeopleList:
            items, page = await fetch_page(
                state.graph, "/me/people", scopes=PEOPLE_READ, params=params, cursor=cursor, limit=clamp_limit(limit)
            )
            return PeopleList(query=words, people=[person(i) for i in items], page=page)

        return await run_tool(ctx, body, consent_scopes=PEOPLE_READ)

    @graph_tool(
        server,
        settings,
        name="get_user",
        title="Look up a colleague",
        description=(
            "Look up a colleague in the organisation's directory by id, user principal name or email: name, email, "
            "job title, department, office and phones."
        ),
        area="people",
        scopes=USER_READ_ALL,
        alternative_scopes=USER_READ_BASIC_ALL,
    )
    async def get_user(
        ctx: Context,
        user: Annotated[str, Field(min_length=1, description="user id, user principal name (UPN) or email address")],
        full_profile: Annotated[
            bool,
            Field(
                description=(
                    "also job title, department, office and phones (needs User.Read.All, often admin consent); "
                    "false: name, email and UPN (User.ReadBasic.All)"
                )
            ),
        ] = True,
    ) -> User | InputRequiredResult:
        state = state_of(ctx)
        who = _who(user)
        scopes = USER_READ_ALL if full_profile else USER_READ_BASIC_ALL
        select = _FULL_USER_FIELDS if full_profile else _BASIC_USER_FIELDS

        async def body() -> User:
            found = await find_user(state.graph, who, select=select, scopes=scopes)
            return user_profile(found, full=full_profile)

        return await run_tool(ctx, body, consent_scopes=scopes)

    @graph_tool(
        server,
        settings,
        name="get_manager",
        title="Get a manager",
        description=(
            "Get the manager of the signed-in user or of a colleague (id, UPN or email) from the organisation's "
            "directory: name, email, job title, department, office and phones."
        ),
        area="people",
        scopes=USER_READ_ALL,
    )
    async def get_manager(
        ctx: Context,
        user: Annotated[
            str | None, Field(description="whose manager: a user id, UPN or email address; default: the signed-in user")
        ] = None,
    ) -> ManagerResult | InputRequiredResult:
        state = state_of(ctx)
        who = _who(user) if user is not None and user.strip().lower() != "me" else None

        async def body() -> ManagerResult:
            await refuse_for_personal_account(
                state, USER_READ_ALL, what="A manager (Graph's /manager)",
                instead="Personal accounts belong to no organisation, so there is no directory to ask.",
            )
            if who is None:
                path, label = "/me/manager", "me"
            else:
                subject = await find_user(state.graph, who, select="id,displayName,userPrincipalName", scopes=USER_READ_ALL)
                path = f"/users/{quote(str(subject.get('id') or who), safe='@')}/manager"
                label = str(subject.get("displayName") or subject.get("userPrincipalName") or who)
            try:
                found = await state.graph.get_json(path, scopes=USER_READ_ALL, params={"$select": _FULL_USER_FIELDS})
            except GraphError as exc:
                if exc.status != 404:
                    raise
                whose = "You have" if who is None else f"{label} has"
                return ManagerResult(of=label, manager=None, message=f"{whose} no manager in the directory.")
            manager = user_profile(found, full=True)
            whose = "Your" if who is None else f"{label}'s"
            return ManagerResult(of=label, manager=manager, message=f"{whose} manager is {manager.name or manager.email}.")

        return await run_tool(ctx, body, consent_scopes=USER_READ_ALL)

