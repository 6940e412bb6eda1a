"""Outlook contacts: the person's own address book (people and the directory stay in people.py).

Graph docs (microsoft-graph-docs-contrib, api-reference/v1.0/):
- user-list-contacts.md: GET /me/contacts (Contacts.Read). The one documented $filter is on the
  address of an emailAddresses entry, `emailAddresses/any(a:a/address eq '…')`, with `eq` only
  (no `ne`, `le` or `startswith()` there), so an email address is looked up that way.
- Words (a name, a company) go as `$search="…"`, Outlook's keyword search, as Microsoft's own
  Bot Framework samples call it (BotBuilder-Samples: `me/contacts?$search="{name}"`); like message
  search it is not combined with $filter or $orderby.
- contact-get.md: GET /me/contacts/{id}.
Property names are msgraph-sdk's (msgraph.generated.models.contact.Contact).
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import InputRequiredResult
from pydantic import BaseModel, Field

from ._common import (
    CURSOR_FIELD,
    DEFAULT_LIMIT,
    LIMIT_FIELD,
    PageInfo,
    clamp_limit,
    email_addresses,
    fetch_page,
    graph_tool,
    odata_quote,
    path_id,
)
from ._runtime import run_tool, state_of
from .plain_text import truncate

CONTACTS_READ = ("Contacts.Read",)

_SUMMARY_FIELDS = "id,displayName,givenName,surname,emailAddresses,companyName,jobTitle,mobilePhone,businessPhones"
_DETAIL_FIELDS = (
    _SUMMARY_FIELDS + ",department,officeLocation,homePhones,businessAddress,homeAddress,birthday,personalNotes,categories,imAddresses"
)


class ContactSummary(BaseModel):
    id: str
    name: str | None
    emails: list[str] = Field(default_factory=list)
    company: str | None = None
    job_title: str | None = None
    mobile_phone: str | None = None
    business_phones: list[str] = Field(default_factory=list)


class ContactList(BaseModel):
    query: str
    contacts: list[ContactSummary]
    page: PageInfo


class Contact(ContactSummary):
    given_name: str | None = None
    surname: str | None = None
    department: str | None = None
    office: str | None = None
    home_phones: list[str] = Field(default_factory=list)
    business_address: str | None = None
    home_address: str | None = None
    birthday: str | None = Field(default=None, description="YYYY-MM-DD")
    notes: str | None = None
    categories: list[str] = Field(default_factory=list)
    im_addresses: list[str] = Field(default_factory=list)


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value or [] if v]


def _address(value: Any) -> str | None:
    """A physicalAddress as one line (street, postal code and city, state, country)."""
    if not isinstance(value, dict):
        return None
    city = " ".join(str(value[k]) for k in ("postalCode", "city") if value.get(k))
    parts = [str(value[k]) for k in ("street",) if value.get(k)] + ([city] if city else [])
    parts += [str(value[k]) for k in ("state", "countryOrRegion") if value.get(k)]
    return ", ".join(parts) or None


def summary_of(item: dict[str, Any]) -> dict[str, Any]:
    emails = [str(e.get("address")) for e in item.get("emailAddresses") or [] if isinstance(e, dict) and e.get("address")]
    return {
        "id": str(item.get("id", "")),
        "name": item.get("displayName") or " ".join(p for p in (item.get("givenName"), item.get("surname")) if p) or None,
        "emails": emails,
        "company": item.get("companyName"),
        "job_title": item.get("jobTitle"),
        "mobile_phone": item.get("mobilePhone"),
        "business_phones": _strings(item.get("businessPhones")),
    }


def contact_of(item: dict[str, Any]) -> Contact:
    notes, _ = truncate(str(item.get("personalNotes") or "").strip())
    birthday = item.get("birthday")
    return Contact(
        **summary_of(item),
        given_name=item.get("givenName"),
        surname=item.get("surname"),
        department=item.get("department"),
        office=item.get("officeLocation"),
        home_phones=_strings(item.get("homePhones")),
        business_address=_address(item.get("businessAddress")),
        home_address=_address(item.get("homeAddress")),
        birthday=str(birthday)[:10] if birthday else None,
        notes=notes or None,
        categories=_strings(item.get("categories")),
        im_addresses=_strings(item.get("imAddresses")),
    )


def search_params(query: str) -> dict[str, str]:
    """An email address: the documented emailAddresses filter; anything else: Outlook's $search."""
    if "@" in query and not any(c.isspace() for c in query):
        email_addresses([query], field="query")  # a malformed address is a clear error, not a search
        return {"$filter": f"emailAddresses/any(a:a/address eq {odata_quote(query)})", "$select": _SUMMARY_FIELDS}
    words = query.replace('"', " ").replace("\\", " ").strip()
    if not words:
        raise ToolError("`query` must hold a name, a company or an email address.")
    return {"$search": f'"{words}"', "$select": _SUMMARY_FIELDS}


def register(server: MCPServer[Any], settings: Any) -> None:
    @graph_tool(
        server,
        settings,
        name="search_contacts",
        title="Search Outlook contacts",
        description=(
            "Search your own Outlook contacts (your address book, not the company directory: use search_people for colleagues) "
            "by name, company or email address: id, name, email addresses, company and phones."
        ),
        area="contacts",
        scopes=CONTACTS_READ,
    )
    async def search_contacts(
        ctx: Context,
        query: Annotated[str, Field(min_length=1, description="a name or company (words), or one email address")],
        limit: Annotated[int, LIMIT_FIELD] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, CURSOR_FIELD] = None,
    ) -> ContactList | InputRequiredResult:
        state = state_of(ctx)
        words = query.strip()
        if not words:
            raise ToolError("`query` must not be empty.")
        params = search_params(words)

        async def body() -> ContactList:
            items, page = await fetch_page(
                state.graph, "/me/contacts", scopes=CONTACTS_READ, params=params, cursor=cursor, limit=clamp_limit(limit),
            )
            return ContactList(query=words, contacts=[ContactSummary(**summary_of(i)) for i in items], page=page)

        return await run_tool(ctx, body, consent_scopes=CONTACTS_READ)

    @graph_tool(
        server,
        settings,
        name="get_contact",
        title="Read an Outlook contact",
        description="Get one of your Outlook contacts by id (from search_contacts): names, email addresses, phones, company, addresses, birthday and notes.",
        area="contacts",
        scopes=CONTACTS_READ,
    )
    async def get_contact(
        ctx: Context,
        contact_id: Annotated[str, Field(description="the contact's `id` from search_contacts")],
    ) -> Contact | InputRequiredResult:
        state = state_of(ctx)
        address = f"/me/contacts/{path_id(contact_id, field='contact_id')}"

        async def body() -> Contact:
            item = await state.graph.get_json(address, scopes=CONTACTS_READ, params={"$select": _DETAIL_FIELDS})
            return contact_of(item)

        return await run_tool(ctx, body, consent_scopes=CONTACTS_READ)
