"""Properties Graph knows per type, whether or not a seeded item has them.

Graph validates $select against the type, not the data: selecting `folder` on a page
of files is fine (the facet is just absent). The emulator's $select consults this
table besides the properties the items on the page happen to have.
"""

from __future__ import annotations

PROPERTIES: dict[str, tuple[str, ...]] = {
    "driveItem": (
        "id", "name", "size", "createdDateTime", "lastModifiedDateTime", "webUrl", "createdBy", "lastModifiedBy",
        "parentReference", "folder", "file", "root", "eTag", "cTag", "description", "fileSystemInfo", "image",
        "photo", "video", "audio", "package", "shared", "specialFolder", "deleted", "remoteItem", "searchResult",
    ),
    "user": (
        "id", "displayName", "givenName", "surname", "mail", "userPrincipalName", "jobTitle", "department",
        "officeLocation", "businessPhones", "mobilePhone", "preferredLanguage", "companyName",
    ),
    "person": (
        "id", "displayName", "givenName", "surname", "birthday", "personNotes", "isFavorite", "jobTitle",
        "companyName", "yomiCompany", "department", "officeLocation", "profession", "userPrincipalName",
        "imAddress", "scoredEmailAddresses", "phones", "personType", "websites",
    ),
}
