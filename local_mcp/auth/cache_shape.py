"""Is this JSON a token cache MSAL can read? The types of every field MSAL reads.

A cache that is valid JSON but not MSAL's shape (a list where MSAL expects an object, a
number where it calls `.split()` or `.lower()`, an `expires_on` that `int()` refuses)
would load, and then make MSAL raise in the middle of some later call — possibly while
it writes the result of a sign-in the user just completed. So it is checked when it is
loaded, and set aside like an undecryptable one (cache.py).

The fields and how MSAL reads them (msal 1.39, token_cache.py and application.py):
the key makers join home_account_id, environment, client_id, realm, target and
ext_cache_key as text (None allowed); `search` calls `int(entry["expires_on"])` on access
tokens and `entry.get("target", "").split()`; the silent flow reads `entry["secret"]`,
`int(entry["refresh_on"])`; `get_accounts` reads `account["authority_type"]` and
`account["username"].lower()`. Sections MSAL does not know are left alone.
"""

from __future__ import annotations

import re
from typing import Any

_TEXT_OR_NULL = "text or null"
_TEXT = "text"
_NUMBER = "a whole number (or its digits as text)"

# section -> {field: (required, kind)}
_SECTIONS: dict[str, dict[str, tuple[bool, str]]] = {
    "AccessToken": {
        "home_account_id": (True, _TEXT_OR_NULL),
        "environment": (True, _TEXT_OR_NULL),
        "client_id": (True, _TEXT_OR_NULL),
        "realm": (False, _TEXT_OR_NULL),
        "target": (True, _TEXT),
        "ext_cache_key": (False, _TEXT_OR_NULL),
        "credential_type": (False, _TEXT),
        "secret": (True, _TEXT),
        "token_type": (False, _TEXT),
        "key_id": (False, _TEXT_OR_NULL),
        "expires_on": (True, _NUMBER),
        "extended_expires_on": (False, _NUMBER),
        "cached_at": (False, _NUMBER),
        "refresh_on": (False, _NUMBER),
    },
    "RefreshToken": {
        "home_account_id": (True, _TEXT_OR_NULL),
        "environment": (True, _TEXT_OR_NULL),
        "client_id": (True, _TEXT_OR_NULL),
        "target": (False, _TEXT_OR_NULL),  # "could be None if deserialized from other SDK" (MSAL)
        "credential_type": (False, _TEXT),
        "secret": (True, _TEXT),
        "family_id": (False, _TEXT_OR_NULL),
        "last_modification_time": (False, _NUMBER),
    },
    "IdToken": {
        "home_account_id": (True, _TEXT_OR_NULL),
        "environment": (True, _TEXT_OR_NULL),
        "client_id": (True, _TEXT_OR_NULL),
        "realm": (False, _TEXT_OR_NULL),
        "credential_type": (False, _TEXT),
        "secret": (True, _TEXT),
    },
    "Account": {
        "home_account_id": (True, _TEXT_OR_NULL),
        "environment": (True, _TEXT_OR_NULL),
        "realm": (False, _TEXT_OR_NULL),
        "local_account_id": (False, _TEXT_OR_NULL),
        "username": (True, _TEXT),
        "authority_type": (True, _TEXT),
        "account_source": (False, _TEXT_OR_NULL),
    },
    "AppMetadata": {
        "client_id": (True, _TEXT_OR_NULL),
        "environment": (True, _TEXT_OR_NULL),
        "family_id": (False, _TEXT_OR_NULL),
    },
}
_DIGITS = re.compile(r"-?[0-9]{1,20}")


def msal_shape_problem(data: Any) -> str | None:
    """What in `data` MSAL could not read, in words without any value from it; None when all is well."""
    if not isinstance(data, dict):
        return "it is not a JSON object"
    for section, fields in _SECTIONS.items():
        if section not in data:
            continue
        entries = data[section]
        if not isinstance(entries, dict):
            return f"{section} is {_kind_of(entries)}, not an object"
        for n, entry in enumerate(entries.values(), start=1):
            if not isinstance(entry, dict):
                return f"{section} entry {n} is {_kind_of(entry)}, not an object"
            for name, (required, kind) in fields.items():
                if name not in entry:
                    if required:
                        return f"{section} entry {n} has no {name}"
                    continue
                if not _is(entry[name], kind):
                    return f"{section} entry {n}: {name} is {_kind_of(entry[name])}, not {kind}"
    return None


def _is(value: Any, kind: str) -> bool:
    if kind == _TEXT:
        return isinstance(value, str)
    if kind == _TEXT_OR_NULL:
        return value is None or isinstance(value, str)
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, str) and _DIGITS.fullmatch(value.strip()) is not None)


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "an object"
