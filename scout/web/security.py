"""The token gate and the security headers, as one pure ASGI middleware around the whole app.

With a token configured every route needs it (except `/healthz`): `Authorization: Bearer <token>`, the
`scout_token` cookie, or `?token=<token>` for a browser's first visit, which sets that HttpOnly cookie and
redirects to the same address without the token. Tokens are compared in constant time.
"""

from __future__ import annotations

import hmac
import json
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode

COOKIE = "scout_token"
OPEN_PATHS = frozenset({"/healthz"})
# The index-owner routes (`scout serve` sharing its embedded shard) check their own per-process token.
OWN_TOKEN_PREFIX = "/internal/index/"

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


class SecurityMiddleware:
    def __init__(self, app, token: str | None = None) -> None:
        self.app = app
        self.token = token or None

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

        if self.token is None or scope["path"] in OPEN_PATHS or scope["path"].startswith(OWN_TOKEN_PREFIX):
            return await self.app(scope, receive, send_with_headers)

        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        auth = headers.get("authorization", "")
        bearer = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # noqa: BLE001 - a malformed cookie header is just "no cookie"
            pass
        from_cookie = cookie[COOKIE].value if COOKIE in cookie else None
        if tokens_equal(bearer, self.token) or tokens_equal(from_cookie, self.token):
            return await self.app(scope, receive, send_with_headers)

        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        from_query = next((v for k, v in query if k == "token"), None)
        if tokens_equal(from_query, self.token):
            if scope["method"] in ("GET", "HEAD") and not scope["path"].startswith("/api/"):
                rest = urlencode([(k, v) for k, v in query if k != "token"])
                location = same_site_location(scope["path"], rest)
                secure = "; Secure" if scope.get("scheme") == "https" else ""
                set_cookie = f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict{secure}"
                await send_with_headers({"type": "http.response.start", "status": 303, "headers": [
                    (b"location", location.encode("latin-1")), (b"set-cookie", set_cookie.encode("latin-1")),
                    (b"content-length", b"0"), (b"cache-control", b"no-store")]})
                await send_with_headers({"type": "http.response.body", "body": b""})
                return None
            return await self.app(scope, receive, send_with_headers)

        wants_json = scope["path"].startswith("/api/") or scope["path"] == "/openapi.json"
        if wants_json:
            body = json.dumps({"detail": "missing or wrong token"}).encode()
            ctype = b"application/json"
        else:
            body = UNAUTHORIZED_HTML.encode()
            ctype = b"text/html; charset=utf-8"
        await send_with_headers({"type": "http.response.start", "status": 401, "headers": [
            (b"content-type", ctype), (b"content-length", str(len(body)).encode()),
            (b"www-authenticate", b'Bearer realm="dualscout"')]})
        await send_with_headers({"type": "http.response.body", "body": body})
        return None
