"""The token gate, the user behind the token, and the security headers, as one pure ASGI middleware.

The gate is on when `SCOUT_WEB_TOKEN` is set or any user exists (`scout users add`): then every route needs a
token (except `/healthz`): `Authorization: Bearer <token>`, the `scout_token` cookie, or `?token=<token>` for a
browser's first visit, which sets that HttpOnly cookie and redirects to the same address without the token.
A user's token names that user and their role; `SCOUT_WEB_TOKEN` stays a shared analyst token (user `token`).
With the gate off (no users, no token, and a loopback bind only) everyone is the local analyst `local`; a
server bound beyond loopback never opens, whatever happens to the user table while it runs: with its last user
removed it answers 401 to everyone.
Every request must name a host the server answers to (`Host`): its bind address, loopback names, the host of
`SCOUT_REPORT_BASE_URL` and `SCOUT_WEB_ALLOWED_HOSTS`; anything else is a 400 before any route runs. A page on `evil.example` whose name
was re-pointed at 127.0.0.1 (DNS rebinding) therefore reaches nothing, not even the open loopback mode.
A write's body larger than `domain.limits.MAX_BODY_BYTES` is a 413 before any route reads it.
The user goes to `scope["state"]["user"]` (`request.state.user`); routes that write check the role.
Writes from another origin (a page elsewhere posting to this server) are refused: the SameSite cookie already
stops them when the gate is on; the Origin check also covers the open loopback mode.
"""

from __future__ import annotations

import hmac
import json
import time
from http.cookies import SimpleCookie
from typing import Callable, Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit

from domain.limits import MAX_BODY_BYTES
from service.analyst import Role, User

COOKIE = "scout_token"
OPEN_PATHS = frozenset({"/healthz"})
# The index-owner routes (`scout serve` sharing its embedded shard) check their own per-process token.
OWN_TOKEN_PREFIX = "/internal/index/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOCAL_USER = User(name="local", role=Role.analyst)  # loopback with no users and no token: today's open mode
TOKEN_USER = User(name="token", role=Role.analyst)  # whoever holds SCOUT_WEB_TOKEN

# Pages load only their own CSS and JS; nothing inline, nothing remote. Defense in depth behind escaping.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]

UNAUTHORIZED_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>dualscout: token needed</title>
</head><body><main class="narrow"><h1>Token needed</h1>
<p>This dualscout server requires its access token. Open the address you were given (it ends in
<code>?token=…</code>), or send <code>Authorization: Bearer &lt;token&gt;</code>.</p></main></body></html>"""


#: a token shorter than this, or with less estimated entropy, is refused at startup
MIN_TOKEN_CHARS = 16
MIN_TOKEN_BITS = 48


def token_problem(token: str) -> str | None:
    """Why `token` is too weak to guard the server (blank, short, repetitive), or None when it will do.

    The entropy is estimated from the token's own character frequencies (Shannon), which understates random
    tokens and catches `aaaa…` and `passwordpassword`; `secrets.token_urlsafe(32)` scores over 200 bits."""
    import math
    from collections import Counter

    if not token.strip():
        return "it is blank"
    if len(token) < MIN_TOKEN_CHARS:
        return f"it has {len(token)} characters, fewer than {MIN_TOKEN_CHARS}"
    counts = Counter(token)
    bits = -len(token) * sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())
    if bits < MIN_TOKEN_BITS:
        return f"it is too predictable (about {bits:.0f} bits of entropy, fewer than {MIN_TOKEN_BITS})"
    return None


def same_site_location(path: str, query: str) -> str:
    """The address to send a browser back to after `?token=`: always a path on this site. A path such as
    `//evil.example/` or `/\\evil.example` would be read by browsers as another host, so leading slashes
    and backslashes collapse to one slash; the path is percent-encoded, so nothing can end the header."""
    from urllib.parse import quote

    path = "/" + path.lstrip("/\\")
    return quote(path, safe="/:@!$&'()*+,;=-._~") + (f"?{query}" if query else "")


def tokens_equal(presented: str | None, expected: str) -> bool:
    if not presented:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))


def request_host(host_header: str) -> str | None:
    """The host name of a `Host` header (lower case, IPv6 without brackets, no port); None when unreadable."""
    try:
        parts = urlsplit("//" + host_header.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    if parts.username is not None or parts.path or parts.query or parts.fragment:
        return None
    return (parts.hostname or "").rstrip(".") or None


def served_hosts(bind: str, names: Iterable[str] = ()) -> frozenset[str] | None:
    """The host names a server bound to `bind` answers to: loopback names, its bind address unless that is a
    wildcard, and `names` (configured). None, meaning any name, only for a wildcard bind with no configured
    names: a server on 0.0.0.0 has a name we cannot know, and it is gated by tokens (it never opens)."""
    bind = bind.strip().strip("[]").lower().rstrip(".")
    names = {n.strip().strip("[]").lower().rstrip(".") for n in names if n.strip()}
    if bind in ("0.0.0.0", "::", "") and not names:
        return None
    hosts = {"localhost", "127.0.0.1", "::1", *names}
    if bind not in ("0.0.0.0", "::", ""):
        hosts.add(bind)
    return frozenset(hosts)


class SecurityMiddleware:
    def __init__(self, app, token: str | None = None, users: Callable[[str], User | None] | None = None,
                 users_exist: Callable[[], bool] | None = None, *, open_allowed: bool = True,
                 hosts: frozenset[str] | None = None) -> None:
        """`open_allowed`: whether the open mode (no token, no users) may ever apply; False for any bind
        beyond loopback. `hosts`: the host names requests may name (None: any)."""
        self.app = app
        self.open_allowed = open_allowed
        self.hosts = hosts
        self.token = token or None
        self.users = users
        self._users_exist = users_exist or (lambda: False)
        self._exist_cache: tuple[float, bool] = (-1e9, False)

    def users_exist(self) -> bool:
        """Whether the gate is on; asked of the database at most once a second (a new user takes effect within
        that second; a removed user's token stops working at once, since tokens are always looked up)."""
        checked, exist = self._exist_cache
        now = time.monotonic()
        if now - checked > 1.0:
            exist = self._users_exist()
            self._exist_cache = (now, exist)
        return exist

    def _user(self, presented: str | None) -> User | None:
        if not presented:
            return None
        if self.token is not None and tokens_equal(presented, self.token):
            return TOKEN_USER
        return self.users(presented) if self.users is not None else None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        wants_json = scope["path"].startswith(("/api/", "/feeds/")) or scope["path"] == "/openapi.json"
        if self.hosts is not None and "host" in headers and request_host(headers["host"]) not in self.hosts:
            # No Host header at all is an HTTP/1.0 client, never a browser (browsers always send one).
            return await _deny(send_with_headers, 400, "this server does not answer to that host name; add it to "
                               "SCOUT_WEB_ALLOWED_HOSTS if it is really this server", wants_json)
        if scope["method"] not in SAFE_METHODS and not _same_origin(headers):
            return await _deny(send_with_headers, 403, "a write from another site's page is refused", wants_json)

        if scope["path"] in OPEN_PATHS or scope["path"].startswith(OWN_TOKEN_PREFIX):
            return await self.app(scope, receive, send_with_headers)
        if scope["method"] not in SAFE_METHODS:  # the owner routes above carry document batches: not bounded
            receive = await _bounded_body(receive, headers)
            if receive is None:
                return await _deny(send_with_headers, 413, f"the request body is larger than {MAX_BODY_BYTES:,} "
                                   "bytes", wants_json)
        if self.open_allowed and self.token is None and not self.users_exist():
            scope.setdefault("state", {})["user"] = LOCAL_USER
            return await self.app(scope, receive, send_with_headers)

        auth = headers.get("authorization", "")
        bearer = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # noqa: BLE001 - a malformed cookie header is just "no cookie"
            pass
        from_cookie = cookie[COOKIE].value if COOKIE in cookie else None
        user = self._user(bearer) or self._user(from_cookie)
        if user is not None:
            scope.setdefault("state", {})["user"] = user
            return await self.app(scope, receive, send_with_headers)

        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        from_query = next((v for k, v in query if k == "token"), None)
        user = self._user(from_query)
        if user is not None:
            if scope["method"] in ("GET", "HEAD") and not wants_json:
                rest = urlencode([(k, v) for k, v in query if k != "token"])
                location = same_site_location(scope["path"], rest)
                secure = "; Secure" if scope.get("scheme") == "https" else ""
                set_cookie = f"{COOKIE}={from_query}; Path=/; HttpOnly; SameSite=Strict{secure}"
                await send_with_headers({"type": "http.response.start", "status": 303, "headers": [
                    (b"location", location.encode("latin-1")), (b"set-cookie", set_cookie.encode("latin-1")),
                    (b"content-length", b"0"), (b"cache-control", b"no-store")]})
                await send_with_headers({"type": "http.response.body", "body": b""})
                return None
            scope.setdefault("state", {})["user"] = user
            return await self.app(scope, receive, send_with_headers)

        return await _deny(send_with_headers, 401, "missing or wrong token", wants_json)


async def _bounded_body(receive, headers: dict[str, str]):
    """`receive` when the body declares a length within MAX_BODY_BYTES; a body without a declared length
    (chunked) is read here up to the bound and replayed. None: too large, refuse before any route reads it."""
    declared = headers.get("content-length")
    if declared is not None:
        return receive if declared.strip().isdigit() and int(declared) <= MAX_BODY_BYTES else None
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            chunks.append(message)
            break
        size += len(message.get("body", b""))
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(message)
        if not message.get("more_body", False):
            break
    body = b"".join(m.get("body", b"") for m in chunks if m["type"] == "http.request")
    replay = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed():
        return replay.pop() if replay else await receive()

    return replayed


def _same_origin(headers: dict[str, str]) -> bool:
    """Not a write from another site's page. Browsers say where a request comes from in `Sec-Fetch-Site`;
    older ones only in `Origin`, which our `no-referrer` policy turns into "null" on a form post. No header at
    all is a client that is not a browser (curl, the CLI, the tests)."""
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = headers.get("origin")
    if not origin or origin == "null":
        return True
    return urlsplit(origin).netloc.lower() == headers.get("host", "").lower()


async def _deny(send, status: int, detail: str, wants_json: bool) -> None:
    if wants_json:
        body = json.dumps({"detail": detail}).encode()
        ctype = b"application/json"
    elif status == 401:
        body = UNAUTHORIZED_HTML.encode()
        ctype = b"text/html; charset=utf-8"
    else:
        body = f"<!doctype html><title>dualscout: refused</title><p>{detail}</p>".encode()
        ctype = b"text/html; charset=utf-8"
    headers = [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="dualscout"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
