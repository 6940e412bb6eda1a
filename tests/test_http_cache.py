"""MSAL's http_cache on disk: JSON that a second process reuses, and never a pickle."""

from __future__ import annotations

import json
import pickle
import stat

import msal
import pytest
from msal.exceptions import MsalServiceError

from local_mcp.auth.http_cache import HTTP_CACHE_FILE_NAME, LEGACY_PICKLE_NAME, PersistentHttpCache

AUTHORITY = "https://login.example/tid-1"
OPENID = {
    "issuer": f"{AUTHORITY}/v2.0",
    "authorization_endpoint": f"{AUTHORITY}/oauth2/v2.0/authorize",
    "token_endpoint": f"{AUTHORITY}/oauth2/v2.0/token",
    "device_authorization_endpoint": f"{AUTHORITY}/oauth2/v2.0/devicecode",
}


class Answer:
    def __init__(self, status_code: int, body: dict) -> None:
        self.status_code, self.text, self.headers = status_code, json.dumps(body), {"Content-Type": "application/json"}

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(self.status_code)


class CountingHttp:
    """MSAL's http_client seam: answers the discovery GET, a 503 to every POST."""

    def __init__(self) -> None:
        self.gets: list[str] = []

    def get(self, url, **kwargs):
        self.gets.append(url)
        return Answer(200, OPENID)

    def post(self, url, **kwargs):
        return Answer(503, {"error": "temporarily_unavailable"})

    def close(self) -> None:
        pass


def build(cache: PersistentHttpCache, http: CountingHttp) -> msal.PublicClientApplication:
    return msal.PublicClientApplication(
        "client", authority=AUTHORITY, http_client=http, http_cache=cache, instance_discovery=False
    )


def test_a_second_process_starts_without_asking_the_authority(tmp_path):
    path = tmp_path / HTTP_CACHE_FILE_NAME
    first_http = CountingHttp()
    first = PersistentHttpCache(path)
    build(first, first_http)
    first.save_if_changed()
    assert first_http.gets and path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = json.loads(path.read_text())
    assert saved["version"] == 1 and all(r["key"].startswith("GET ") for r in saved["responses"])

    second_http = CountingHttp()
    app = build(PersistentHttpCache(path), second_http)
    assert second_http.gets == []  # the OpenID configuration came from the file
    assert app.authority.token_endpoint == OPENID["token_endpoint"]


def test_failed_posts_replayed_by_msal_are_not_kept(tmp_path):
    path = tmp_path / HTTP_CACHE_FILE_NAME
    cache = PersistentHttpCache(path)
    app = build(cache, CountingHttp())
    with pytest.raises(MsalServiceError):  # a 503, which MSAL keeps to replay for a while
        app.acquire_token_by_refresh_token("rt-secret", ["User.Read"])
    assert any(isinstance(k, str) and k.startswith("POST ") for k in cache)
    cache.save_if_changed()
    text = path.read_text()
    assert "POST " not in text and "rt-secret" not in text


def test_an_old_pickled_cache_is_deleted_unread(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    legacy = tmp_path / LEGACY_PICKLE_NAME
    legacy.write_bytes(pickle.dumps(Payload()))
    (tmp_path / HTTP_CACHE_FILE_NAME).write_bytes(pickle.dumps(Payload()))  # a pickle under the new name too
    cache = PersistentHttpCache(tmp_path / HTTP_CACHE_FILE_NAME)
    assert dict(cache) == {}
    assert not marker.exists() and not legacy.exists()


def test_json_of_another_shape_is_ignored(tmp_path):
    path = tmp_path / HTTP_CACHE_FILE_NAME
    good = {"key": "GET https://x hash=1 2xx", "expires_at": 2**40, "created_at": 1, "status_code": 200,
            "text": "{}", "headers": {}}
    for bad in (
        [],
        {"version": 2, "responses": []},
        {"version": 1, "responses": [{**good, "status_code": "200"}]},
        {"version": 1, "responses": [{**good, "key": "_index_"}]},
        {"version": 1, "responses": [{**good, "headers": {"a": 1}}]},
        {"version": 1, "responses": [{**good, "expires_at": True}]},
        {"version": 1, "responses": [{k: v for k, v in good.items() if k != "text"}]},
    ):
        path.write_text(json.dumps(bad))
        assert dict(PersistentHttpCache(path)) == {}, bad
    path.write_text(json.dumps({"version": 1, "responses": [good, {**good, "key": "GET https://y hash=2 2xx", "expires_at": 2}]}))
    loaded = PersistentHttpCache(path)
    assert set(loaded) == {"GET https://x hash=1 2xx", "_index_"}  # the expired one is dropped
    assert loaded["GET https://x hash=1 2xx"].status_code == 200
