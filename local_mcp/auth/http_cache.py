"""MSAL's http_cache saved as JSON: the authority's discovery answers, never code.

MSAL's constructor fetches the authority's OpenID configuration (and, for Microsoft
hosts, instance discovery) through its throttled HTTP client, which remembers them in
the `http_cache` mapping for a day. Saving that mapping lets a later process start with
no request to the authority at all.

MSAL's own suggestion is to pickle the mapping; unpickling runs whatever the file says,
so a file planted in the cache folder would run code in this server. This module keeps
only the successful GET answers (`"GET <url> hash=<...> 2xx"` entries: status, text,
headers, and when they expire), writes them as JSON and rebuilds MSAL's entries from
them. Throttling replays of failed POSTs (429/5xx, 400) live a minute at most and are not
kept. The pickled file of earlier versions (`msal_http_cache.bin`) is never read: it is
deleted, and the metadata is fetched once more.

    {"version": 1, "responses": [{"key": "GET https://…/openid-configuration hash=… 2xx",
      "expires_at": 1767000000, "created_at": 1766913600, "status_code": 200,
      "text": "{…}", "headers": {"content-type": "application/json"}}]}
"""

from __future__ import annotations

import heapq
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from .cache import atomic_write_private

logger = logging.getLogger(__name__)

HTTP_CACHE_FILE_NAME = "msal_http_cache.json"
LEGACY_PICKLE_NAME = "msal_http_cache.bin"  # earlier versions: pickled, never loaded again
FORMAT_VERSION = 1
_INDEX = "_index_"  # msal/individual_cache.py: _ExpiringMapping._INDEX, (heap, {key: [expires_at, created_at]})
_MAX_ENTRIES = 64
_MAX_TEXT = 256 * 1024


class CachedResponse:
    """The parts of MSAL's NormalizedResponse that its callers read (status_code, text, headers)."""

    def __init__(self, status_code: int, text: str, headers: dict[str, str]) -> None:
        self.status_code = status_code
        self.text = text
        self.headers = headers

    def raise_for_status(self) -> None:  # only 2xx answers are kept
        return None


class PersistentHttpCache(dict):
    """MSAL's http_cache (a plain dict of public metadata responses), saved to a JSON file.

    It holds only what the authority publishes to everyone (OpenID configuration,
    instance discovery), never a token.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._lock = threading.Lock()
        _forget_pickle(path.with_name(LEGACY_PICKLE_NAME))
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raw = b""
        except OSError as exc:
            logger.info("Ignoring unreadable MSAL http cache at %s (%s).", path, type(exc).__name__)
            raw = b""
        if raw:
            try:
                self.update(_from_json(json.loads(raw.decode("utf-8")), now=int(time.time())))
            except (ValueError, TypeError, KeyError) as exc:  # not ours, or another version's: start afresh
                logger.info("Ignoring unreadable MSAL http cache at %s (%s).", path, type(exc).__name__)
        self._saved = self._snapshot()

    def save_if_changed(self) -> None:
        with self._lock:
            snapshot = self._snapshot()
            if snapshot == self._saved:
                return
            try:
                atomic_write_private(self.path, json.dumps(_to_json(self), sort_keys=True).encode("utf-8"))
                self._saved = snapshot
            except Exception as exc:  # a cache of public metadata is not worth failing a call for
                logger.info("Could not save MSAL http cache to %s (%s).", self.path, type(exc).__name__)

    def _snapshot(self) -> frozenset[str]:
        return frozenset(k for k in self.keys() if isinstance(k, str) and _keepable(k))


def _keepable(key: str) -> bool:
    return key.startswith("GET ") and key.endswith(" 2xx")


def _to_json(mapping: dict[Any, Any]) -> dict[str, Any]:
    _, timestamps = mapping.get(_INDEX, ([], {}))
    responses = []
    for key, value in mapping.items():
        if not isinstance(key, str) or not _keepable(key) or key not in timestamps:
            continue
        status = getattr(value, "status_code", None)
        text = getattr(value, "text", None)
        if not isinstance(status, int) or not 200 <= status < 300 or not isinstance(text, str):
            continue
        headers = {str(k): str(v) for k, v in dict(getattr(value, "headers", None) or {}).items()}
        expires_at, created_at = timestamps[key]
        responses.append({"key": key, "expires_at": int(expires_at), "created_at": int(created_at),
                          "status_code": status, "text": text, "headers": headers})
    return {"version": FORMAT_VERSION, "responses": responses[:_MAX_ENTRIES]}


def _from_json(data: Any, *, now: int) -> dict[Any, Any]:
    """MSAL's mapping rebuilt from the JSON; anything not exactly of the expected shape is an error."""
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION or not isinstance(data.get("responses"), list):
        raise ValueError("not a version 1 http cache")
    mapping: dict[Any, Any] = {}
    heap: list[list[Any]] = []
    timestamps: dict[str, list[int]] = {}
    for entry in data["responses"][:_MAX_ENTRIES]:
        if not isinstance(entry, dict):
            raise TypeError("an entry is not an object")
        key, expires_at, created_at = entry["key"], entry["expires_at"], entry["created_at"]
        status, text, headers = entry["status_code"], entry["text"], entry["headers"]
        if not (isinstance(key, str) and _keepable(key) and key != _INDEX):
            raise ValueError("an entry is not a cached GET answer")
        if not all(type(n) is int for n in (expires_at, created_at, status)) or not 200 <= status < 300:
            raise TypeError("an entry has a wrong number")
        if not isinstance(text, str) or len(text) > _MAX_TEXT or not isinstance(headers, dict):
            raise TypeError("an entry has a wrong text or headers")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
            raise TypeError("a header is not text")
        if not created_at <= now < expires_at:  # expired (or from the future): MSAL would drop it
            continue
        mapping[key] = CachedResponse(status, text, dict(headers))
        heap.append([expires_at, created_at, key])
        timestamps[key] = [expires_at, created_at]
    if mapping:
        heapq.heapify(heap)
        mapping[_INDEX] = (heap, timestamps)
    return mapping


def _forget_pickle(legacy: Path) -> None:
    """Delete the pickled http cache of earlier versions without reading it (public metadata, refetched)."""
    try:
        os.unlink(legacy)
    except FileNotFoundError:
        return
    except OSError as exc:
        logger.info("Could not delete the old MSAL http cache %s (%s); it is not read.", legacy, type(exc).__name__)
        return
    logger.info("Deleted the old pickled MSAL http cache %s; it is never read (JSON replaces it).", legacy)
