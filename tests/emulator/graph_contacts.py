"""Outlook contacts for the emulator: GET /me/contacts (search) and GET /me/contacts/{id}.

Each rule follows its Microsoft source (microsoft-graph-docs-contrib, api-reference/v1.0/api/):
- user-list-contacts.md: Contacts.Read (or Contacts.ReadWrite). "You can use $filter, any, and the eq
  operator on only the address sub-property of instances in an emailAddresses collection ... nor can
  you apply any other operator or function with filter, such as ne, le, and startswith()": that one
  filter is evaluated, any other filter naming emailAddresses is a 400.
- $search="words" is Outlook's keyword search (as Microsoft's BotBuilder-Samples call it): matched here
  against the names, company and email addresses; like message search (search-query-parameter.md) it
  takes one double-quoted string and is not combined with $filter, $orderby or $skip.
- contact-get.md: GET /me/contacts/{id}; an unknown id is 404 ErrorItemNotFound.
Property names are msgraph-sdk's (msgraph.generated.models.contact.Contact).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from . import contract, data
from .graph import Call, GraphError, Route, _route
from .web import Response

if TYPE_CHECKING:
    from .graph import GraphApi

Json = dict[str, Any]

CONTACTS_READ = ("Contacts.Read", "Contacts.ReadWrite")
_EMAIL_FILTER = re.compile(r"^\s*emailAddresses/any\((\w+):\1/address\s+eq\s+'((?:[^']|'')*)'\)\s*$", re.I)
_QUOTED = re.compile(r'^"[^"]*"$')


class ContactsApi:
    def __init__(self, api: GraphApi) -> None:
        self.api = api
        self.contacts = data.seed_contacts(datetime.now(timezone.utc))

    def routes(self) -> list[Route]:
        return [
            _route("GET", "/me/contacts", CONTACTS_READ, self.list_contacts),
            _route("GET", "/me/contacts/{id}", CONTACTS_READ, self.get_contact),
        ]

    def _context(self) -> str:
        return f"users('{self.api.emu.user.oid}')/contacts"

    def list_contacts(self, call: Call) -> Response:
        contract.check_query(call, "contact")
        items = self.contacts
        filtered = searched = False
        if (search := call.option("search")) is not None:
            if not _QUOTED.match(search.strip()):
                raise GraphError(400, "BadRequest", 'Syntax error: the $search value must be one string in double quotes.')
            for name in ("filter", "orderby", "skip"):
                if call.option(name) is not None:
                    raise GraphError(400, "ErrorInvalidUrlQuery", f"The query parameter '${name}' is not supported with '$search'.")
            words = search.strip().strip('"').lower().split()
            items = [c for c in items if all(w in _searchable(c) for w in words)]
            searched = True  # a search pages on with an opaque $skiptoken, as message search does
        elif (expr := call.option("filter")) is not None and "emailaddresses" in expr.lower():
            match = _EMAIL_FILTER.match(expr)
            if not match:
                raise GraphError(400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes.")
            wanted = match[2].replace("''", "'").lower()
            items = [c for c in items if any(str(e.get("address", "")).lower() == wanted for e in c.get("emailAddresses") or [])]
            filtered = True
        # Paging, $select and the next link (which keeps $search / $filter) are the shared collection code's.
        return self.api._collection(items, call, "contact", self._context(), filtered=filtered, skiptoken=searched)

    def get_contact(self, call: Call) -> Response:
        for contact in self.contacts:
            if contact["id"] == call.params["id"]:
                return self.api._entity(contact, call, "contact", self._context() + "/$entity")
        raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def _searchable(contact: Json) -> str:
    emails = " ".join(str(e.get("address", "")) for e in contact.get("emailAddresses") or [])
    parts = (contact.get("displayName"), contact.get("givenName"), contact.get("surname"), contact.get("companyName"), emails)
    return " ".join(str(p) for p in parts if p).lower()
