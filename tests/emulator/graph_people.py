"""People and directory for the emulator: /me/people, /users, and managers.

The directory holds the signed-in user and the people of data.PEOPLE (the two shared
mailboxes are people-API entries but not users). Johanna Lorenz's UPN differs from her
email address, so lookups by email must fall back to a $filter on `mail`.

Permissions as Graph documents them: /me/people needs People.Read; /users/{id} accepts
User.ReadBasic.All but then returns the basic profile only (id, names, mail, UPN);
managers need User.Read.All.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from . import data, rules
from .graph import Call, GraphError, Route, _route
from .web import Response

if TYPE_CHECKING:
    from .graph import GraphApi

Json = dict[str, Any]

PEOPLE_READ = ("People.Read", "People.Read.All")
USERS_READ_BASIC = ("User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All",
                    "Directory.ReadWrite.All")
USERS_READ_ALL = ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")
_BASIC_PROFILE = ("id", "displayName", "givenName", "surname", "mail", "userPrincipalName")
_FULL_SCOPES = frozenset(s.lower() for s in USERS_READ_ALL)

# mailbox local part -> (job title, department, office, business phone, mobile phone, manager's local part)
_PROFILES: dict[str, tuple[str, str, str, str, str | None, str | None]] = {
    "megan": ("Marketing Manager", "Marketing", "131/1104", "+1 412 555 0109", "+1 412 555 0199", "miriam"),
    "alex": ("Product Designer", "Product", "131/2103", "+1 858 555 0110", None, "isaiah"),
    "lee": ("Finance Analyst", "Finance", "23/3101", "+1 913 555 0101", None, "diego"),
    "nestor": ("Developer Advocate", "Engineering", "36/2121", "+1 404 555 0111", None, "grady"),
    "pradeep": ("Account Manager", "Sales", "98/2202", "+1 206 555 0112", "+1 206 555 0192", "lynne"),
    "lynne": ("VP Operations", "Operations", "20/1101", "+1 425 555 0100", None, None),
    "diego": ("Finance Manager", "Finance", "14/1108", "+1 205 555 0108", None, "lynne"),
    "isaiah": ("Director of Product", "Product", "20/1109", "+1 918 555 0107", "+1 918 555 0197", "lynne"),
    "joni": ("Program Manager", "Product", "20/1110", "+1 980 555 0101", None, "isaiah"),
    "miriam": ("Brand Director", "Marketing", "131/2105", "+1 206 555 0105", None, "lynne"),
    "grady": ("Engineering Manager", "Engineering", "19/2109", "+1 309 555 0104", None, "isaiah"),
    "johanna": ("Legal Counsel", "Legal", "14/1102", "+1 206 555 0106", None, "lynne"),
}
_ME_MANAGER = "isaiah"
_UPN_OVERRIDES = {"johanna": "jlorenz"}


class Directory:
    def __init__(self, api: GraphApi) -> None:
        self.api = api
        self.emu = api.emu
        user = self.emu.user
        domain = user.domain
        self.users: list[Json] = [{
            "id": user.oid, "displayName": user.name, "givenName": user.given_name, "surname": user.surname,
            "mail": user.email, "userPrincipalName": user.email, "jobTitle": user.job_title,
            "department": "Product", "officeLocation": user.office_location,
            "businessPhones": list(user.business_phones), "mobilePhone": user.mobile_phone,
        }]
        self.managers: dict[str, str] = {}  # user id -> manager's user id
        by_local: dict[str, str] = {}
        for name, local in data.PEOPLE:
            if local not in _PROFILES:
                continue
            title, department, office, phone, mobile, _ = _PROFILES[local]
            given, _, surname = name.partition(" ")
            user_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"emulator-user:{local}"))
            by_local[local] = user_id
            self.users.append({
                "id": user_id, "displayName": name, "givenName": given, "surname": surname,
                "mail": f"{local}@{domain}", "userPrincipalName": f"{_UPN_OVERRIDES.get(local, local)}@{domain}",
                "jobTitle": title, "department": department, "officeLocation": office,
                "businessPhones": [phone], "mobilePhone": mobile,
            })
        for local, profile in _PROFILES.items():
            if profile[5]:
                self.managers[by_local[local]] = by_local[profile[5]]
        self.managers[user.oid] = by_local[_ME_MANAGER]
        self.people = self._seed_people(domain)

    def routes(self) -> list[Route]:
        return [
            _route("GET", "/me/people", PEOPLE_READ, self.list_people),
            _route("GET", "/me/manager", USERS_READ_ALL, self.get_manager),
            _route("GET", "/users", USERS_READ_BASIC, self.list_users),
            _route("GET", "/users/{id}", USERS_READ_BASIC, self.get_user),
            _route("GET", "/users/{id}/manager", USERS_READ_ALL, self.get_manager),
        ]

    def _seed_people(self, domain: str) -> list[Json]:
        people = []
        directory = {u["mail"]: u for u in self.users}
        for rank, (name, local) in enumerate(data.PEOPLE):
            address = f"{local}@{domain}"
            user = directory.get(address)
            given, _, surname = name.partition(" ")
            people.append({
                "id": user["id"] if user else str(uuid.uuid5(uuid.NAMESPACE_URL, f"emulator-person:{local}")),
                "displayName": name, "givenName": given if user else None, "surname": surname if user else None,
                "birthday": "", "personNotes": "", "isFavorite": False,
                "jobTitle": user["jobTitle"] if user else None, "companyName": "Contoso" if user else None,
                "yomiCompany": "", "department": user["department"] if user else None,
                "officeLocation": user["officeLocation"] if user else None, "profession": "",
                "userPrincipalName": user["userPrincipalName"] if user else "",
                "imAddress": f"sip:{user['userPrincipalName']}" if user else None,
                "scoredEmailAddresses": [{"address": address, "relevanceScore": round(20.0 - rank, 1),
                                          "selectionLikelihood": "notSpecified"}],
                "phones": ([{"type": "business", "number": user["businessPhones"][0]}]
                           + ([{"type": "mobile", "number": user["mobilePhone"]}] if user["mobilePhone"] else [])
                           if user else []),
                "personType": ({"class": "Person", "subclass": "OrganizationUser"} if user
                               else {"class": "Group", "subclass": "PublicDistributionList"}),
                "websites": [],
            })
        return people

    # ---- handlers -------------------------------------------------------------------------

    def list_people(self, call: Call) -> Response:
        rules.people(call)
        people = self.people
        if (search := (call.option("search") or "").strip().strip('"').strip().lower()):
            people = [p for p in people if _matches(p, search)]
        return self.api._collection(people, call, "person", f"users('{self.emu.user.oid}')/people")

    def list_users(self, call: Call) -> Response:
        rules.directory(call)
        users = [self._visible(u, call) for u in self.users]
        return self.api._collection(users, call, "user", "users", skiptoken=True)

    def get_user(self, call: Call) -> Response:
        return self.api._entity(self._visible(self._user(call.params["id"]), call), call, "user", "users/$entity")

    def get_manager(self, call: Call) -> Response:
        rules.work_or_school(self.emu.user.tid, "manager")
        user = self._user(call.params["id"]) if "id" in call.params else self._user(self.emu.user.oid)
        manager_id = self.managers.get(user["id"])
        if manager_id is None:
            raise GraphError(404, "Request_ResourceNotFound", "Resource 'manager' does not exist or one of its "
                             "queried reference-property objects are not present.")
        manager = {"@odata.type": "#microsoft.graph.user", **self._user(manager_id)}
        return self.api._entity(manager, call, "user", "directoryObjects/$entity")

    # ---- helpers ----------------------------------------------------------------------------

    def _user(self, key: str) -> Json:
        wanted = key.strip().lower()
        for user in self.users:
            if wanted in (user["id"].lower(), user["userPrincipalName"].lower()):
                return user
        raise GraphError(404, "Request_ResourceNotFound", f"Resource '{key}' does not exist or one of its "
                         "queried reference-property objects are not present.")

    def _visible(self, user: Json, call: Call) -> Json:
        """With only User.ReadBasic.All, other users' non-basic properties are not returned."""
        if call.scopes & _FULL_SCOPES or user["id"] == self.emu.user.oid:
            return user
        return {k: v for k, v in user.items() if k in _BASIC_PROFILE}


def _matches(person: Json, search: str) -> bool:
    """Like the people API's fuzzy search, roughly: a name or address starting with the text."""
    name = str(person["displayName"]).lower()
    addresses = [str(e.get("address", "")).lower() for e in person["scoredEmailAddresses"]]
    return (name.startswith(search) or any(w.startswith(search) for w in name.split())
            or any(a.startswith(search) for a in addresses) or search in name)
