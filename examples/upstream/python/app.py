#!/usr/bin/env python3
"""A minimal app behind SessionGate: standard library HTTP server + joserfc for the JWT.

It has no session library and never sees the session cookie. It reads the signed
X-Session-Token header the proxy adds, and answers with X-Session-Set / X-Session-Action.

    GET  /login   a sign-in form (a public route in proxy.toml)
    POST /login   user=NAME  -> X-Session-Set: {"user_id": NAME}  (remember=on adds X-Session-Lifetime)
    GET  /        the signed-in user as JSON; counts visits with X-Session-Set
    POST /logout  -> X-Session-Action: destroy
    GET  /devices "Your devices": the user's sessions from the proxy's sessions API (JSON with
                  Accept: application/json), this one marked
    POST /devices/sign-out  sid=SID -> X-Session-Action: revoke SID (the proxy checks the owner)
    GET  /healthz "ok" (for container health checks; not a session route)

Environment:
    PORT                        port to listen on (default 3000), on LISTEN_HOST (default 127.0.0.1)
    SESSIONGATE_SIGNING_SECRET  HS256: the same string as [signing] secret
    SESSIONGATE_JWKS_URL        EdDSA instead: the proxy's admin /.well-known/jwks.json
    SESSIONGATE_ISSUER / SESSIONGATE_AUDIENCE   [signing] issuer / audience
                                (default "sessiongate" / "upstream")
    SESSIONGATE_ADMIN_URL       the proxy's admin listener, e.g. http://127.0.0.1:9090 (for /devices)
    SESSIONGATE_ADMIN_TOKEN     the same token as [admin] token (for /devices)

Run:  pip install joserfc && SESSIONGATE_SIGNING_SECRET=... python3 app.py
"""

import html
import json
import os
import urllib.parse
import urllib.request
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey

# joserfc warns that "EdDSA" is superseded by "Ed25519" (RFC 9864); SessionGate signs "EdDSA",
# which every JWT library accepts today.
warnings.filterwarnings("ignore", message="EdDSA is deprecated")

ISSUER = os.environ.get("SESSIONGATE_ISSUER", "sessiongate")
AUDIENCE = os.environ.get("SESSIONGATE_AUDIENCE", "upstream")
JWKS_URL = os.environ.get("SESSIONGATE_JWKS_URL")
SECRET = os.environ.get("SESSIONGATE_SIGNING_SECRET")
ADMIN_URL = os.environ.get("SESSIONGATE_ADMIN_URL")
ADMIN_TOKEN = os.environ.get("SESSIONGATE_ADMIN_TOKEN")
if not JWKS_URL and not SECRET:
    raise SystemExit("set SESSIONGATE_SIGNING_SECRET (HS256) or SESSIONGATE_JWKS_URL (EdDSA)")

_jwks_cache = None


def verification_key(refresh=False):
    """The key and the only algorithm accepted (never taken from the token's own header)."""
    global _jwks_cache
    if not JWKS_URL:
        return OctKey.import_key(SECRET), ["HS256"]  # the secret string's UTF-8 bytes
    if _jwks_cache is None or refresh:
        with urllib.request.urlopen(JWKS_URL, timeout=5) as response:
            _jwks_cache = KeySet.import_key_set(json.load(response))
    return _jwks_cache, ["EdDSA"]


def verify_session_token(token, method, path):
    """The verified claims, or None. Checks signature, iss, aud, exp, and that the token was
    issued for this very request (htm/htu), so a leaked token cannot be replayed elsewhere."""
    try:
        key, algorithms = verification_key()
        try:
            decoded = jwt.decode(token, key, algorithms=algorithms)
        except (JoseError, ValueError):
            if not JWKS_URL:
                raise
            key, algorithms = verification_key(refresh=True)  # the proxy may have a new key
            decoded = jwt.decode(token, key, algorithms=algorithms)
        jwt.JWTClaimsRegistry(
            leeway=5,
            iss={"essential": True, "value": ISSUER},
            aud={"essential": True, "value": AUDIENCE},
            exp={"essential": True},
            sid={"essential": True},
        ).validate(decoded.claims)
    except (JoseError, ValueError, OSError):
        return None
    claims = decoded.claims
    if claims.get("htm") != method or claims.get("htu") != path:
        return None
    return claims


LOGIN_PAGE = """<!doctype html><title>Sign in</title>
<form method="post" action="/login">
<input type="hidden" name="next" value="{next}">
<label>User <input name="user" id="user" required></label>
<label><input type="checkbox" name="remember"> Remember me</label>
<button id="signin">Sign in</button></form>"""


def list_sessions(user):
    """The user's live sessions from the proxy's sessions API (docs/admin-api.md), or None."""
    if not (ADMIN_URL and ADMIN_TOKEN):
        return None
    request = urllib.request.Request(f"{ADMIN_URL}/sessions?user={urllib.parse.quote(str(user), safe='')}",
                                     headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)["sessions"]


def devices_page(sessions, current_sid):
    rows = []
    for s in sessions:
        action = ("<strong>This device</strong>" if s["sid"] == current_sid else
                  '<form method="post" action="/devices/sign-out"><input type="hidden" name="sid" value="{0}">'
                  '<button type="submit">Sign out</button></form>'.format(html.escape(s["sid"])))
        rows.append("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
            html.escape(s["user_agent"] or "unknown"), html.escape(s["last_ip"] or s["ip"] or "unknown"),
            html.escape(s["created_at"]), html.escape(s["last_seen_at"]), action))
    return ("<!doctype html><title>Your devices</title><h1>Your devices</h1><table>"
            "<tr><th>Browser</th><th>IP</th><th>Signed in</th><th>Last active</th><th></th></tr>"
            + "".join(rows) + "</table>")


class App(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the proxy pools its upstream connections

    def do_GET(self):
        path, _, query = self.path.partition("?")
        if path == "/healthz":
            return self.reply(200, "text/plain", "ok\n")
        if path == "/login":
            next_path = urllib.parse.parse_qs(query).get("next", ["/"])[0]
            if not next_path.startswith("/") or next_path.startswith("//"):
                next_path = "/"
            return self.reply(200, "text/html", LOGIN_PAGE.format(next=html.escape(next_path)))
        if path == "/":
            claims = self.session_claims(path)
            if claims is None:
                return self.reply(401, "application/json", '{"error": "unauthenticated"}')
            data = claims["data"]
            visits = data.get("visits", 0) + 1
            body = json.dumps({"user": data.get("user_id"), "visits": visits, "sid": claims["sid"]})
            # Write back: an RFC 7396 merge patch, merged atomically into the session.
            return self.reply(200, "application/json", body, {"X-Session-Set": json.dumps({"visits": visits})})
        if path == "/devices":
            claims = self.session_claims(path)
            if claims is None:
                return self.reply(401, "application/json", '{"error": "unauthenticated"}')
            sessions = list_sessions(claims["data"].get("user_id"))
            if sessions is None:
                return self.reply(503, "text/plain", "set SESSIONGATE_ADMIN_URL and SESSIONGATE_ADMIN_TOKEN\n")
            if "application/json" in self.headers.get("Accept", ""):
                return self.reply(200, "application/json", json.dumps({"current": claims["sid"], "sessions": sessions}))
            return self.reply(200, "text/html", devices_page(sessions, claims["sid"]))
        self.reply(404, "text/plain", "not found\n")

    def do_POST(self):
        path = self.path.partition("?")[0]
        form = urllib.parse.parse_qs(self.read_body().decode("utf-8", "replace"))
        if path == "/login":
            user = form.get("user", [""])[0].strip()
            if not user:
                return self.reply(400, "text/plain", "user is required\n")
            # Creates the session (the proxy sets the cookie). A change of user_id on an
            # existing session makes the proxy rotate the session id.
            headers = {"X-Session-Set": json.dumps({"user_id": user}), "Location": self.safe_next(form)}
            if form.get("remember", [""])[0] == "on":
                headers["X-Session-Lifetime"] = str(30 * 86400)  # capped by [session] max_lifetime
            return self.reply(303, "text/plain", "", headers)
        if path == "/logout":
            return self.reply(303, "text/plain", "", {"X-Session-Action": "destroy", "Location": "/login"})
        if path == "/devices/sign-out":
            sid = form.get("sid", [""])[0]
            # Only a well-formed sid goes into the header; the proxy ends it only if it is
            # another session of this user (anything else changes nothing).
            ok = sid and len(sid) <= 64 and all(c.isascii() and (c.isalnum() or c in "-_") for c in sid)
            headers = {"X-Session-Action": f"revoke {sid}"} if ok else {}
            return self.reply(303, "text/plain", "", {**headers, "Location": "/devices"})
        self.reply(404, "text/plain", "not found\n")

    def read_body(self):
        """The request body (the proxy bounds its size); it may arrive chunked, as bodies stream."""
        if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return body
            body += self.rfile.read(size)
            self.rfile.readline()  # the CRLF after each chunk

    def session_claims(self, path):
        token = self.headers.get("X-Session-Token")
        return verify_session_token(token, self.command, path) if token else None

    @staticmethod
    def safe_next(form):
        target = form.get("next", ["/"])[0]
        return target if target.startswith("/") and not target.startswith("//") else "/"

    def reply(self, status, content_type, body, headers=None):
        payload = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args):  # keep test output quiet; never log tokens
        pass


if __name__ == "__main__":
    host = os.environ.get("LISTEN_HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "3000"))
    server = ThreadingHTTPServer((host, port), App)
    print(f"listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
