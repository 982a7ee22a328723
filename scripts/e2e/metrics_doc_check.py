#!/usr/bin/env python3
"""Scrapes /metrics of a running `sessiongate serve` and checks it against docs/metrics.md.

- Every metric in the doc's reference table is exposed with the documented type, and every
  exposed metric is documented (no silent additions or renames).
- Every series carries exactly the documented label names (histograms add `le` to buckets).
- Every exposed label value is one the doc lists for that label, and every documented value is
  exposed: the traffic below produces each rule kind, method and status class, and each fixed
  set is exposed from the start. Values that depend on configuration are the exception and are
  listed in CONFIG_DEPENDENT (`route[N]` stands for any rule index; the check's config has 3).
- The exposition parses (`name{label="value"} number` lines, TYPE for each family).
- The counters move the way the doc says after a known sequence of requests and reloads.
Exit 1 with one line per problem.
"""

import base64
import hashlib
import http.client
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / ".build" / "debug" / "sessiongate"
DOC = ROOT / "docs" / "metrics.md"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? (\S+)$')
# Label values a single process cannot show all of: only the configured store backend appears.
CONFIG_DEPENDENT = {"backend": {"memory"}}
RULES = ["/login", "/public/**", "/blocked/**"]  # route[0], route[1], route[2]


sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib"))
from proctools import free_port, stop  # noqa: E402


def documented() -> dict[str, tuple[str, dict[str, set[str]]]]:
    """metric -> (type, {label: values}) from the doc's reference table."""
    out = {}
    for line in DOC.read_text().splitlines():
        if not line.startswith("| `sessiongate_"):
            continue
        # Cells split on "|" also split the "a \| b" alternatives; rejoin them.
        row = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        name, kind, labels = row[0].strip("`"), row[1], row[2]
        label_sets = {}
        for part in labels.split(";"):
            match = re.match(r"\s*`(\w+)` = (.*)", part)
            if match:
                label_sets[match[1]] = set(re.findall(r"`([^`]+)`", match[2]))
        out[name] = (kind, label_sets)
    return out


def value_matches(documented_value: str, value: str) -> bool:
    if "[N]" in documented_value:
        return re.fullmatch(re.escape(documented_value).replace(r"\[N\]", r"\[\d+\]"), value) is not None
    return documented_value == value


def scrape(url: str) -> tuple[dict[str, str], dict[str, dict[tuple, float]], list[str]]:
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    types, samples, problems = {}, {}, []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
        elif line.startswith("#") or not line:
            continue
        else:
            match = SAMPLE.match(line)
            if not match:
                problems.append(f"/metrics line does not parse: {line!r}")
                continue
            labels = tuple(sorted(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match[2] or "")))
            samples.setdefault(match[1], {})[labels] = float(match[3])
    return types, samples, problems


def family_samples(types, samples, name) -> dict[tuple, float]:
    """The series of one family; a histogram's are its _bucket/_sum/_count, without `le`."""
    if types.get(name) != "histogram":
        return samples.get(name, {})
    out = {}
    for suffix in ("_bucket", "_sum", "_count"):
        for labels, number in samples.get(name + suffix, {}).items():
            out[tuple(pair for pair in labels if pair[0] != "le")] = number
    return out


def value(samples, name, **labels) -> float:
    return samples.get(name, {}).get(tuple(sorted(labels.items())), 0.0)


class Upstream(http.server.BaseHTTPRequestHandler):
    """The app: /login sets a session, /logout destroys it, /public/error fails, /public/ws upgrades."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        path = self.path.split("?")[0]
        if path == "/public/ws" and self.headers.get("Upgrade", "").lower() == "websocket":
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            # RFC 6455 accept key: the proxy opens the tunnel only when it matches.
            key = self.headers.get("Sec-WebSocket-Key", "") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
            self.send_header("Sec-WebSocket-Accept", base64.b64encode(hashlib.sha1(key.encode()).digest()).decode())
            self.end_headers()
            self.close_connection = True
            return
        headers, status = [], 200
        if path == "/login":
            status, headers = 303, [("X-Session-Set", json.dumps({"user_id": "metrics"})), ("Location", "/")]
        elif path == "/logout":
            status, headers = 303, [("X-Session-Action", "destroy"), ("Location", "/login")]
        elif path == "/public/error":
            status = 500
        body = b"" if self.command == "HEAD" else b"ok\n"
        self.send_response(status)
        for name, header_value in headers:
            self.send_header(name, header_value)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(body)


for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PURGE"):
    setattr(Upstream, f"do_{method}", Upstream.handle_any)


def write_config(path: Path, port: int, admin: int, upstream: int, broken: bool = False) -> None:
    if broken:
        path.write_text("this is [not toml\n")
        return
    rules = "".join(
        f'[[route]]\npath = "{rule}"\naccess = "{"deny" if rule.startswith("/blocked") else "public"}"\n' for rule in RULES)
    path.write_text(f"""[server]
listen = "127.0.0.1:{port}"
admin_listen = "127.0.0.1:{admin}"
drain_timeout = "2s"
[upstream]
url = "http://127.0.0.1:{upstream}"
[cookie]
name = "sg"
secure = false
keys = ["${{SG_METRICS_KEY}}"]
[signing]
algorithm = "HS256"
secret = "${{SG_METRICS_SECRET}}"
[log]
format = "json"
[routes]
default = "session"
{rules}""")


def exercise(base_port: int, reload) -> None:
    """Traffic (and reloads) whose effect on the counters `expectations` describes."""

    def call(method, path, cookie=None, headers=None, body=None):
        connection = http.client.HTTPConnection("127.0.0.1", base_port, timeout=5)
        all_headers = dict(headers or {})
        if cookie:
            all_headers["Cookie"] = cookie
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        response.read()
        connection.close()
        return response.status, response.getheader("Set-Cookie")

    status, set_cookie = call("POST", "/login", body=b"user=metrics")
    assert status == 303 and set_cookie, "login"
    cookie = set_cookie.split(";")[0]
    assert call("GET", "/", cookie)[0] == 200 and call("GET", "/", cookie)[0] == 200, "page views"
    assert call("GET", "/", "sg=not-a-sealed-value")[0] == 401, "bad cookie"
    assert call("GET", "/a%2Fb")[0] == 400, "rejected path"
    for method in ("GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS", "PURGE"):
        assert call(method, "/public/x")[0] == 200, f"{method} /public/x"
    assert call("GET", "/public/error")[0] == 500, "app error"
    with socket.create_connection(("127.0.0.1", base_port), timeout=5) as ws:
        ws.sendall(b"GET /public/ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        assert ws.recv(64).startswith(b"HTTP/1.1 101"), "upgrade"
    assert call("GET", "/blocked/x")[0] == 403, "denied rule"
    assert call("POST", "/logout", cookie, body=b"")[0] == 303, "logout"
    assert call("GET", "/", cookie)[0] == 401, "gone session"
    reload(broken=True)
    reload(broken=False)


EXPECTATIONS = [
    ("sessiongate_session_writes_total", {"directive": "set"}, 1),  # login
    ("sessiongate_session_writes_total", {"directive": "destroy"}, 1),  # logout
    ("sessiongate_session_loads_total", {"result": "hit"}, 3),  # 2 page views + logout
    ("sessiongate_session_loads_total", {"result": "miss"}, 1),  # the gone session
    ("sessiongate_session_loads_total", {"result": "invalid_cookie"}, 1),  # the bad cookie
    ("sessiongate_requests_total", {"rule": "route[0]", "method": "POST", "status_class": "3xx"}, 1),
    ("sessiongate_requests_total", {"rule": "default", "method": "GET", "status_class": "2xx"}, 2),
    ("sessiongate_requests_total", {"rule": "default", "method": "GET", "status_class": "4xx"}, 2),
    ("sessiongate_requests_total", {"rule": "default", "method": "POST", "status_class": "3xx"}, 1),
    ("sessiongate_requests_total", {"rule": "rejected", "method": "GET", "status_class": "4xx"}, 1),
    ("sessiongate_requests_total", {"rule": "route[1]", "method": "GET", "status_class": "2xx"}, 1),
    ("sessiongate_requests_total", {"rule": "route[1]", "method": "OTHER", "status_class": "2xx"}, 1),
    ("sessiongate_requests_total", {"rule": "route[1]", "method": "GET", "status_class": "5xx"}, 1),
    ("sessiongate_requests_total", {"rule": "route[1]", "method": "GET", "status_class": "1xx"}, 1),
    ("sessiongate_requests_total", {"rule": "route[2]", "method": "GET", "status_class": "4xx"}, 1),
    ("sessiongate_request_duration_seconds_count", {"status_class": "2xx"}, 9),
    ("sessiongate_request_duration_seconds_count", {"status_class": "5xx"}, 1),
    ("sessiongate_upstream_duration_seconds_count", {}, 13),  # every request that reached the app
    ("sessiongate_store_duration_seconds_count", {"backend": "memory", "operation": "load"}, 4),
    ("sessiongate_store_duration_seconds_count", {"backend": "memory", "operation": "write"}, 2),
    ("sessiongate_store_errors_total", {"backend": "memory"}, 0),
    ("sessiongate_upstream_connect_errors_total", {}, 0),
    ("sessiongate_config_reloads_total", {"result": "rejected"}, 1),
    ("sessiongate_config_reloads_total", {"result": "ok"}, 1),
]


def compare(doc, types, after) -> list[str]:
    problems = []
    if not doc:
        problems.append(f"{DOC.relative_to(ROOT)} has no reference table")
    for name, (kind, label_sets) in doc.items():
        if types.get(name) != kind:
            problems.append(f"{name}: documented as {kind}, /metrics says {types.get(name, 'nothing')}")
        series = family_samples(types, after, name)
        if not series:
            problems.append(f"{name}: no series exposed")
        exposed = {}
        for labels in series:
            names = {label for label, _ in labels}
            if names != set(label_sets):
                problems.append(f"{name}: a series has labels {sorted(names)}, documented {sorted(label_sets)}")
            for label, label_value in labels:
                exposed.setdefault(label, set()).add(label_value)
        for label, values in label_sets.items():
            seen = exposed.get(label, set())
            for label_value in sorted(seen):
                if not any(value_matches(v, label_value) for v in values):
                    problems.append(f"{name}: {label}={label_value!r} is exposed but not documented")
            expected = CONFIG_DEPENDENT.get(label, values)
            for documented_value in sorted(expected):
                if not any(value_matches(documented_value, v) for v in seen):
                    problems.append(f"{name}: {label}={documented_value!r} is documented but not exposed")
    for name in sorted(set(types) - set(doc)):
        problems.append(f"{name} is exposed but not documented in {DOC.relative_to(ROOT)}")
    return problems


def main() -> int:
    if not BINARY.is_file():
        print(f"metrics check: {BINARY} is missing; run swift build --product sessiongate", file=sys.stderr)
        return 1
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port, admin = free_port(), free_port()
    env = dict(os.environ)
    for variable in ("SG_METRICS_KEY", "SG_METRICS_SECRET"):
        env[variable] = subprocess.run([str(BINARY), "keygen"], capture_output=True, text=True, check=True).stdout.strip()
    problems = []
    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryFile("w+") as log:
        config = Path(folder) / "proxy.toml"
        write_config(config, port, admin, upstream.server_address[1])
        proxy = subprocess.Popen([str(BINARY), "serve", "--config", str(config)], stdout=log, stderr=subprocess.STDOUT, env=env)
        metrics_url = f"http://127.0.0.1:{admin}/metrics"

        def reload(broken: bool) -> None:
            result = "rejected" if broken else "ok"
            before = value(scrape(metrics_url)[1], "sessiongate_config_reloads_total", result=result)
            write_config(config, port, admin, upstream.server_address[1], broken=broken)
            proxy.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while value(scrape(metrics_url)[1], "sessiongate_config_reloads_total", result=result) == before:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no {result} reload counted after SIGHUP")
                time.sleep(0.05)

        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{admin}/livez", timeout=2)
                    break
                except OSError:
                    if time.monotonic() > deadline or proxy.poll() is not None:
                        raise RuntimeError("sessiongate serve did not start")
                    time.sleep(0.2)
            _, before, _ = scrape(metrics_url)
            exercise(port, reload)
            time.sleep(0.2)  # the upgrade's tunnel and connections settle
            types, after, problems = scrape(metrics_url)
        except (RuntimeError, AssertionError, OSError) as error:
            reason = f"unexpected status for the {error} request" if isinstance(error, AssertionError) else error
            log.seek(0)
            print(f"FAIL metrics check: {reason}\n--- proxy output\n{log.read()[-2000:]}", file=sys.stderr)
            return 1
        finally:
            stop(proxy, signal.SIGTERM, timeout=5)
            upstream.shutdown()

    doc = documented()
    problems += compare(doc, types, after)
    for name, labels, expected in EXPECTATIONS:
        delta = value(after, name, **labels) - value(before, name, **labels)
        if delta != expected:
            problems.append(f"{name}{labels} rose by {delta:g}, expected {expected}")
    if value(after, "sessiongate_requests_in_flight") != 0:
        problems.append("sessiongate_requests_in_flight is not 0 when idle")
    answered = sum(after.get("sessiongate_requests_total", {}).values())
    timed = sum(after.get("sessiongate_request_duration_seconds_count", {}).values())
    if answered != timed:
        problems.append(f"{answered:g} requests counted but {timed:g} durations recorded")

    for problem in problems:
        print(f"FAIL {problem}")
    print(f"metrics check: {len(doc)} documented metrics, {len(types)} exposed, "
          f"{'all agree' if not problems else f'{len(problems)} problems'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
