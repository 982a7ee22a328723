#!/usr/bin/env python3
"""h2c upgrade smuggling (issue 13) against a real h2c-capable upstream: Hypercorn.

1. Hypercorn, reached directly, upgrades `GET /public/x` with `Upgrade: h2c` to HTTP/2 (101) and an
   HTTP/2 request on that connection reaches `/admin/secret`: the upstream really is h2c-capable,
   so what follows means something.
2. Through `sessiongate serve` (memory store; `/public/**` public, `/admin/**` session with
   `require = { role = ["admin"] }`, default session) the same attack, 20 times (10 at a time), each on a
   fresh connection: the answer is a plain HTTP/1.1 200 (never 101); the app saw HTTP/1.1 and no
   `Upgrade`/`HTTP2-Settings` (nor the spoofed `X-Session-Token`); the HTTP/2 preface and a HEADERS
   frame for `/admin/secret` (spoofed `x-session-token`) sent on the same connection anyway get an
   HTTP/1.1 error or a close; the app never sees any request but the `/public/x` ones.
3. Anonymous `GET /admin/secret` → 401 (or 302), a non-admin session → 403, an admin session → 200
   (the rule under attack works), and `Upgrade: foo` is not forwarded either.

`attack(port, ...)` runs step 2's checks against any port and returns the problems it found;
pointed at Hypercorn itself (which upgrades) it reports the bypass, which is how the checks were
shown to catch it. Exit 1 with one line per problem; H2C_KEEP=1 keeps the temp folder (logs, config).
"""
import concurrent.futures
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import h2.config
import h2.connection
import h2.events

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from proctools import kill_all, proxy_env, proxy_toml, spawn, wait_port, free_port  # noqa: E402

BIN = os.environ.get("SESSIONGATE_BIN", ".build/debug/sessiongate")
ATTEMPTS = 20
PARALLEL = 10  # attempts at a time
HYPERCORN = version("hypercorn")
IO_TIMEOUT = 5.0  # seconds for any one read
# The proxy may wait for its request-head timeout before it answers the HTTP/2 bytes.
ANSWER_TIMEOUT = 30.0
SPOOFED_TOKEN = "eyJhbGciOiJub25lIn0.eyJkYXRhIjp7InJvbGUiOiJhZG1pbiJ9fQ."

# The app: records every request it sees (one JSON line in $H2C_APP_LOG, written before anything
# else) and answers with that record. /public/login-as-<role> logs in with that role.
APP = '''
import json, os
LOG = os.environ["H2C_APP_LOG"]

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    record = {"method": scope["method"], "path": scope["path"],
              "query": scope["query_string"].decode("latin-1"), "http_version": scope["http_version"],
              "headers": [[k.decode("latin-1").lower(), v.decode("latin-1")] for k, v in scope["headers"]]}
    with open(LOG, "a") as f:
        f.write(json.dumps(record) + "\\n")
    while (await receive()).get("more_body"):
        pass
    body = json.dumps(record).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if scope["path"].startswith("/public/login-as-"):
        role = scope["path"].rsplit("-", 1)[1]
        headers.append((b"x-session-set", json.dumps({"user_id": "u-" + role, "role": role}).encode()))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
'''


class App:
    """The Hypercorn process and the requests it has recorded."""

    def __init__(self, folder, procs):
        self.log = Path(folder) / "requests.jsonl"
        self.log.touch()
        source = Path(folder) / "h2c_app.py"
        source.write_text(APP)
        self.port = free_port()
        spawn(procs, [sys.executable, "-m", "hypercorn", "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning",
                      f"{source}:app"], f"{folder}/hypercorn.log", env=dict(os.environ, H2C_APP_LOG=str(self.log)))
        wait_port(self.port, error=SystemExit, name="hypercorn")

    def seen(self):
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]


# ---- HTTP/1.1 and HTTP/2 over a raw socket ------------------------------------------------------

def parse_head(buffer):
    """(status, {lower-case name: value}, bytes after the head) of an HTTP/1.x response head at the
    start of `buffer`; status None when there is none (yet)."""
    if b"\r\n\r\n" not in buffer:
        return None, {}, buffer
    head, rest = buffer.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        return None, {}, buffer
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers, rest


def read_head(sock, buffer=b""):
    """parse_head of what `sock` sends; status None when the peer closed, reset or fell silent
    before a whole head (what had arrived is then the third item)."""
    while b"\r\n\r\n" not in buffer:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            chunk = b""
        if not chunk:
            return None, {}, buffer
        buffer += chunk
    return parse_head(buffer)


def read_body(sock, headers, rest):
    """The Content-Length body (the proxy and Hypercorn both send one here); (body, bytes after)."""
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return rest[:length], rest[length:]


def read_until_close(sock, buffer=b""):
    """Everything until the peer closes, resets or is silent for the socket's timeout: (bytes, how it ended)."""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return buffer, "reset"
        except socket.timeout:
            return buffer, "silent"
        if not chunk:
            return buffer, "closed"
        buffer += chunk


def request(port, raw):
    """Sends `raw` on a fresh connection; (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT) as sock:
        sock.sendall(raw)
        status, headers, rest = read_head(sock)
        body, _ = read_body(sock, headers, rest) if status else (b"", b"")
        return status, headers, body


def get(port, path, *lines):
    head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n" + "".join(f"{line}\r\n" for line in lines)
    return request(port, (head + "Connection: close\r\n\r\n").encode())


def h2_exchange(sock, conn, stream_id, leftover=b""):
    """Feeds `leftover` and then what `sock` sends into `conn` until `stream_id` ends or the peer
    stops; (status of `stream_id` or None, body, how it ended)."""
    status, body, data = None, b"", leftover
    while True:
        if data:
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived) and event.stream_id == stream_id:
                    status = int(dict(event.headers)[":status"])
                elif isinstance(event, h2.events.DataReceived) and event.stream_id == stream_id:
                    body += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)) and event.stream_id == stream_id:
                    return status, body, "stream ended"
                elif isinstance(event, h2.events.ConnectionTerminated):
                    return status, body, "goaway"
            sock.sendall(conn.data_to_send())
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            return status, body, "reset"
        except socket.timeout:
            return status, body, "silent"
        if not data:
            return status, body, "closed"


def send_unless_closed(sock, data):
    """sendall, except that a peer that already closed (the proxy closes after answering a refused
    upgrade) is an outcome, not an error; False then."""
    try:
        sock.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError):
        return False


def attack(port, app, tag):
    """The h2c smuggling attempt against 127.0.0.1:`port` (the proxy, or the app itself): a list of
    problems (empty when the path is closed) and a one-line description of what happened."""
    problems = []
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    settings = conn.initiate_upgrade_connection().decode()
    with socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT) as sock:
        sock.sendall((f"GET /public/x?attempt={tag} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                      f"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: {settings}\r\n"
                      f"X-Session-Token: {SPOOFED_TOKEN}\r\n\r\n").encode())
        status, headers, rest = read_head(sock)
        if status == 101:
            problems.append(f"the upgrade was accepted: 101 (Upgrade: {headers.get('upgrade')!r}), not a plain 200")
            sock.sendall(conn.data_to_send())  # the preface, as a client does after the 101
            h2_exchange(sock, conn, 1, rest)  # the /public/x answer, now over HTTP/2
            first = "101"
        elif status is None:
            return [f"no HTTP/1.1 answer to the upgrade request (got {rest[:60]!r})"], "no answer"
        else:
            body, rest = read_body(sock, headers, rest)
            first = str(status)
            if status != 200:
                problems.append(f"the upgrade request got {status}, not 200")
            else:
                record = json.loads(body)
                names = {name for name, _ in record["headers"]}
                if record["http_version"] != "1.1":
                    problems.append(f"the app saw HTTP/{record['http_version']}, not 1.1")
                for name in sorted(names & {"upgrade", "http2-settings"}):
                    problems.append(f"the app got the {name} header")
                if any(name == "x-session-token" and value == SPOOFED_TOKEN for name, value in record["headers"]):
                    problems.append("the app got the spoofed X-Session-Token")
            if rest:
                problems.append(f"bytes after the 200: {rest[:60]!r}")
            send_unless_closed(sock, conn.data_to_send())  # the preface, as if the upgrade had happened
        # HTTP/2 on the same connection anyway: /admin/secret with a spoofed token.
        stream = conn.get_next_available_stream_id()
        conn.send_headers(stream, [(":method", "GET"), (":scheme", "http"), (":authority", f"127.0.0.1:{port}"),
                                   (":path", f"/admin/secret?attempt={tag}"), ("x-session-token", SPOOFED_TOKEN)],
                          end_stream=True)
        send_unless_closed(sock, conn.data_to_send())
        if status == 101:
            h2_status, h2_body, ended = h2_exchange(sock, conn, stream)
            second = f"HTTP/2 {h2_status} ({ended})"
            if h2_status is not None:
                problems.append(f"HTTP/2 GET /admin/secret through the upgraded connection got {h2_status}: {h2_body[:80]!r}")
        else:
            sock.settimeout(ANSWER_TIMEOUT)
            started = time.monotonic()
            answer, ended = read_until_close(sock)
            second_status = parse_head(answer)[0]
            second = f"{second_status or ended} after {round(time.monotonic() - started)}s"
            if answer and not (second_status and second_status >= 400):
                problems.append(f"the HTTP/2 frames got {answer[:60]!r}, not an HTTP/1.1 error")
            elif not answer and ended == "silent":
                problems.append(f"the HTTP/2 frames got no answer and no close within {ANSWER_TIMEOUT}s")
    time.sleep(0.05)  # a smuggled request would be recorded by now; main's final check waits longer
    seen = [r for r in app.seen() if f"attempt={tag}" in r["query"].split("&")]
    unexpected = [f"{r['method']} {r['path']} HTTP/{r['http_version']}" for r in seen
                  if r["path"] != "/public/x"]
    if any(r["path"] == "/admin/secret" for r in seen):
        problems.append("/admin/secret REACHED THE APP: " + ", ".join(unexpected))
    elif unexpected:
        problems.append("the app saw requests other than /public/x: " + ", ".join(unexpected))
    return problems, f"{first}, then {second}"


# ---- the run ------------------------------------------------------------------------------------

def start_proxy(folder, procs, app):
    port, admin = free_port(), free_port()
    config = Path(folder) / "proxy.toml"
    config.write_text(proxy_toml(port, admin, app.port, 'backend = "memory"', log_level="error")
                      + '[[route]]\npath = "/admin/**"\naccess = "session"\nrequire = { role = ["admin"] }\n')
    spawn(procs, [BIN, "serve", "--config", str(config)], f"{folder}/proxy.log", env=proxy_env(BIN))
    wait_port(port, error=SystemExit, name="sessiongate serve")
    return port


def login(port, role):
    status, headers, _ = get(port, f"/public/login-as-{role}")
    cookie = headers.get("set-cookie", "").split(";")[0]
    if status != 200 or not cookie.startswith("sg="):
        raise SystemExit(f"FAIL: login as {role} gave {status} and no cookie")
    return cookie


def check_upstream_upgrades(app):
    """Hypercorn alone upgrades the attack: 101, and /admin/secret over HTTP/2."""
    problems, what = attack(app.port, app, "direct")
    reached = [r for r in app.seen() if r["path"] == "/admin/secret" and r["http_version"] == "2"]
    if not what.startswith("101") or not reached:
        raise SystemExit(f"FAIL: Hypercorn {HYPERCORN} did not upgrade the attack ({what}): the test would prove nothing")
    return what


def main():
    if not os.access(BIN, os.X_OK):
        raise SystemExit(f"FAIL: no {BIN} (build it first)")
    folder = tempfile.mkdtemp(prefix="sg-h2c-")
    procs, problems = [], []
    try:
        app = App(folder, procs)
        direct = check_upstream_upgrades(app)
        port = start_proxy(folder, procs, app)

        direct_requests = len(app.seen())
        outcomes = {}
        with concurrent.futures.ThreadPoolExecutor(PARALLEL) as pool:
            for attempt, (found, what) in enumerate(pool.map(lambda n: attack(port, app, str(n)), range(ATTEMPTS))):
                problems += [f"attempt {attempt}: {p}" for p in found]
                outcomes[what] = outcomes.get(what, 0) + 1

        status, _, _ = get(port, "/admin/secret")
        if status not in (401, 302):
            problems.append(f"anonymous GET /admin/secret got {status}, not 401/302")
        status, _, _ = get(port, "/admin/secret", f"Cookie: {login(port, 'user')}")
        if status != 403:
            problems.append(f"GET /admin/secret with a non-admin session got {status}, not 403")
        status, _, body = get(port, "/admin/secret", f"Cookie: {login(port, 'admin')}")
        if status != 200:
            problems.append(f"GET /admin/secret with an admin session got {status}, not 200")
        status, _, body = get(port, "/public/foo", "Connection: Upgrade", "Upgrade: foo")
        if status != 200:
            problems.append(f"GET /public/foo with Upgrade: foo got {status}, not 200")
        elif any(name == "upgrade" for name, _ in json.loads(body)["headers"]):
            problems.append("Upgrade: foo was forwarded")

        # Every request the app saw through the proxy: the attempts' /public/x and the checks above.
        time.sleep(0.5)
        expected = {f"/public/x?attempt={n}" for n in range(ATTEMPTS)} | {
            "/admin/secret?", "/public/login-as-user?", "/public/login-as-admin?", "/public/foo?"}
        seen = [f"{r['method']} {r['path']}?{r['query']} HTTP/{r['http_version']}" for r in app.seen()[direct_requests:]]
        unexpected = [r for r in seen if r.split(" ")[1] not in expected or not r.startswith("GET ") or not r.endswith(" HTTP/1.1")]
        if unexpected:
            problems.append(f"the app saw unexpected requests through the proxy: {unexpected}")
        if len(seen) != ATTEMPTS + 4:
            problems.append(f"the app saw {len(seen)} requests through the proxy, not {ATTEMPTS + 4}: {seen}")
        if problems:
            print("\n".join(f"FAIL: {p}" for p in problems))
            sys.exit(1)
        summary = ", ".join(f"{n}× {what}" for what, n in sorted(outcomes.items()))
        print(f"h2c smuggling: ok (Hypercorn {HYPERCORN} alone: {direct}; through the proxy, {ATTEMPTS} attempts: {summary}; "
              "/admin/secret never reached the app; anonymous 401/302, non-admin 403, admin 200; Upgrade: foo not forwarded)")
    finally:
        kill_all(procs)
        os.environ.get("H2C_KEEP") or shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError, KeyError) as error:  # a refused connection, an answer that is not JSON
        raise SystemExit(f"FAIL: {type(error).__name__}: {error}")
