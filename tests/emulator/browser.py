"""A headless stand-in for a web browser: set BROWSER='<python> browser.py %s'.

MSAL's acquire_token_interactive opens the authorize URL with `webbrowser`,
which runs $BROWSER and *waits for it to exit*; only then does MSAL's
loopback listener start answering. The command also inherits the caller's
stdout, which for an MCP server is the JSON-RPC stream. So this script:

1. points its own stdout/stderr at /dev/null before anything else;
2. starts a detached copy of itself (new session, no inherited stdio);
3. exits 0 at once, so webbrowser reports success.

The detached copy plays the user: given MSAL's loopback welcome page (what local-mcp
opens), it waits for the listener and follows the page's refresh to the authorize URL. It GETs the authorize URL (trusting the CA
in SSL_CERT_FILE or REQUESTS_CA_BUNDLE), reads the auto-submitting form the
emulator returns (code or error, state, ...), and POSTs it to the form's
action, MSAL's http://localhost:<port>, retrying while that is not up yet.

Standard library only: it runs as a plain script, not inside the package.
Set EMULATOR_BROWSER_LOG=/path/file to log what it does.
"""

from __future__ import annotations

import os
import re
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin

POST_RETRY_SECONDS = 10.0


def _log(message: str) -> None:
    path = os.environ.get("EMULATOR_BROWSER_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"{datetime.now().isoformat(timespec='milliseconds')} [{os.getpid()}] {message}\n")


class _FormParser(HTMLParser):
    """Collects the first <form>'s action, method and named inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.method = "get"
        self.fields: dict[str, str] = {}
        self._in_form = False
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "form" and not self._done:
            self._in_form = True
            self.action = attributes.get("action", "")
            self.method = attributes.get("method", "get").lower()
        elif tag == "input" and self._in_form and attributes.get("name") and attributes.get("type") != "submit":
            if attributes.get("type") == "radio" and "checked" not in attributes:
                return  # an account picker: the user clicks the highlighted (checked) account
            self.fields[attributes["name"]] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._in_form:
            self._in_form, self._done = False, True


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # surface 3xx as HTTPError so we can follow it ourselves


def _opener(context: ssl.SSLContext) -> urllib.request.OpenerDirector:
    # No proxies: everything is on the loopback interface.
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context), _NoRedirect())


def _fetch(opener: urllib.request.OpenerDirector, url: str) -> tuple[int, dict[str, str], str]:
    try:
        with opener.open(url, timeout=15) as response:
            return response.status, dict(response.headers), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode("utf-8", "replace")


def _post_form(opener: urllib.request.OpenerDirector, action: str, fields: dict[str, str]) -> None:
    body = urlencode(fields).encode("ascii")
    deadline = time.monotonic() + POST_RETRY_SECONDS
    while True:
        request = urllib.request.Request(
            action, data=body, method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with opener.open(request, timeout=15) as response:
                _log(f"posted form to {action}: HTTP {response.status}")
                return
        except urllib.error.HTTPError as exc:
            _log(f"posted form to {action}: HTTP {exc.code}")  # the listener answered; done
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            if time.monotonic() > deadline:
                _log(f"giving up posting to {action}: {exc!r}")
                return
            time.sleep(0.2)  # the loopback listener is not accepting yet


_META_REFRESH = re.compile(r"""http-equiv=['"]refresh['"]\s+content=['"]\d+;\s*url=([^'"]+)['"]""", re.I)


def _follow_welcome_page(opener: urllib.request.OpenerDirector, url: str) -> str:
    """MSAL's loopback welcome page (local-mcp opens it): wait for the listener, follow its refresh.

    The address is read with a pattern, not unescaped as HTML: like a browser reading an
    attribute, `&nonce=` must stay `&nonce=`.
    """
    deadline = time.monotonic() + POST_RETRY_SECONDS
    while True:
        try:
            status, _, text = _fetch(opener, url)
            break
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            if time.monotonic() > deadline:
                _log(f"giving up on the welcome page {url}: {exc!r}")
                return url
            time.sleep(0.2)  # the loopback listener is not accepting yet
    match = _META_REFRESH.search(text)
    _log(f"GET {url} -> HTTP {status}, forwards: {bool(match)}")
    return match.group(1) if match else url


def sign_in(url: str) -> int:
    """What the user and their browser would do with the authorize URL (or local-mcp's welcome page)."""
    cafile = os.environ.get("SSL_CERT_FILE") or os.environ.get("REQUESTS_CA_BUNDLE")
    opener = _opener(ssl.create_default_context(cafile=cafile))
    if url.startswith("http://localhost") and "welcome=true" in url:
        url = _follow_welcome_page(opener, url)
    for _ in range(5):  # follow a few redirects by hand (response_mode=query)
        status, headers, text = _fetch(opener, url)
        _log(f"GET {url[:120]}... -> HTTP {status}")
        location = headers.get("Location") or headers.get("location")
        if 300 <= status < 400 and location:
            url = urljoin(url, location)
            if not url.startswith("https://"):
                _fetch(opener, url)  # an http:// redirect URI: deliver by GET, like a browser
                return 0
            continue
        break
    for _ in range(3):  # an account picker (a form back to the identity provider), then the form_post
        form = _FormParser()
        form.feed(text)
        if form.action is None:
            _log(f"no form in the response (HTTP {status}): {text[:300]!r}")
            return 1
        if form.method != "post":
            _log(f"unexpected form method {form.method!r}")
            return 1
        action = urljoin(url, form.action)
        if not action.startswith("https://"):
            break
        request = urllib.request.Request(action, data=urlencode(form.fields).encode("ascii"), method="POST",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with opener.open(request, timeout=15) as response:
                status, text = response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode("utf-8", "replace")
        _log(f"picked account {form.fields.get('account')!r} -> HTTP {status}")
        url = action
    _post_form(opener, action, form.fields)
    return 0


def _silence_stdio() -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def main(argv: list[str]) -> int:
    _silence_stdio()  # first: never write into the caller's stdout (the MCP stream)
    try:
        if len(argv) == 3 and argv[1] == "--child":
            return sign_in(argv[2])
        if len(argv) != 2:
            _log(f"usage: browser.py URL (got {argv[1:]!r})")
            return 2
        subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--child", argv[1]],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True,
        )
        return 0
    except Exception as exc:  # a browser never crashes its caller
        _log(f"error: {exc!r}")
        return 0 if len(argv) == 3 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
