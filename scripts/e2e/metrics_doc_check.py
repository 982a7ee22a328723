#!/usr/bin/env python3
"""Scrapes /metrics of a running `sessiongate demo` and checks it against docs/metrics.md.

- Every metric in the doc's reference table is exposed with the documented type, and every
  exposed metric is documented (no silent additions or renames).
- Every exposed label value is one the doc lists for that metric, and every documented value
  is exposed (fixed label sets: no path or user id ever becomes a label).
- The exposition parses (`name{label="value"} number` lines, HELP/TYPE for each family).
- The counters move the way the doc says after a login, two page views, a bad cookie, a
  rejected path and a logout.
Exit 1 with one line per problem.
"""

import http.cookiejar
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / ".build" / "debug" / "sessiongate"
DOC = ROOT / "docs" / "metrics.md"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? (\S+)$')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
        match = re.match(r"`(\w+)` = (.*)", labels)
        if match:
            label_sets[match[1]] = set(re.findall(r"`([^`]+)`", match[2]))
        out[name] = (kind, label_sets)
    return out


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


def value(samples, name, **labels) -> float:
    return samples.get(name, {}).get(tuple(sorted(labels.items())), 0.0)


def exercise(base: str) -> None:
    """Traffic whose effect on the counters the doc describes."""
    jar = http.cookiejar.CookieJar()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)

    without_jar = urllib.request.build_opener(NoRedirect)

    def call(path, data=None, headers=None, client=opener):
        request = urllib.request.Request(base + path, data=data, headers=headers or {})
        try:
            return client.open(request, timeout=5).status
        except urllib.error.HTTPError as error:
            return error.code

    assert call("/login", b"user=metrics") == 303, "login"
    assert call("/") == 200 and call("/") == 200, "page views"
    bad_cookie = {"Cookie": "sessiongate_demo=not-a-sealed-value"}
    assert call("/", headers=bad_cookie, client=without_jar) == 401, "bad cookie"
    assert call("/a%2Fb") == 400, "rejected path"
    assert call("/logout", b"") == 303, "logout"


def main() -> int:
    if not BINARY.is_file():
        print(f"metrics check: {BINARY} is missing; run swift build --product sessiongate", file=sys.stderr)
        return 1
    port, admin = free_port(), free_port()
    problems = []
    with tempfile.TemporaryFile("w+") as log:
        demo = subprocess.Popen([str(BINARY), "demo", "--port", str(port), "--admin-port", str(admin)],
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{admin}/livez", timeout=2)
                    break
                except OSError:
                    if time.monotonic() > deadline or demo.poll() is not None:
                        raise RuntimeError("sessiongate demo did not start")
                    time.sleep(0.2)
            metrics_url = f"http://127.0.0.1:{admin}/metrics"
            _, before, _ = scrape(metrics_url)
            exercise(f"http://127.0.0.1:{port}")
            types, after, problems = scrape(metrics_url)
        except (RuntimeError, AssertionError, OSError) as error:
            reason = f"unexpected status for the {error} request" if isinstance(error, AssertionError) else error
            log.seek(0)
            print(f"FAIL metrics check: {reason}\n--- demo output\n{log.read()[-2000:]}", file=sys.stderr)
            return 1
        finally:
            demo.send_signal(signal.SIGTERM)
            try:
                demo.wait(timeout=5)
            except subprocess.TimeoutExpired:
                demo.kill()
                demo.wait(timeout=5)

    doc = documented()
    if not doc:
        problems.append(f"{DOC.relative_to(ROOT)} has no reference table")
    for name, (kind, label_sets) in doc.items():
        if types.get(name) != kind:
            problems.append(f"{name}: documented as {kind}, /metrics says {types.get(name, 'nothing')}")
        exposed = {}
        for labels in after.get(name, {}):
            for label, label_value in labels:
                exposed.setdefault(label, set()).add(label_value)
        if exposed != label_sets:
            problems.append(f"{name}: documented labels {label_sets or 'none'}, /metrics has {exposed or 'none'}")
    for name in sorted(set(types) - set(doc)):
        problems.append(f"{name} is exposed but not documented in {DOC.relative_to(ROOT)}")

    delta = lambda name, **labels: value(after, name, **labels) - value(before, name, **labels)  # noqa: E731
    expectations = [
        ("sessiongate_session_writes_total", {"directive": "set"}, 3),  # login + 2 visit counters
        ("sessiongate_session_writes_total", {"directive": "destroy"}, 1),
        ("sessiongate_session_loads_total", {"result": "hit"}, 3),  # 2 page views + logout
        ("sessiongate_session_loads_total", {"result": "miss"}, 1),  # the bad cookie
        ("sessiongate_requests_total", {"status_class": "3xx"}, 2),  # login, logout
        ("sessiongate_requests_total", {"status_class": "2xx"}, 2),
        ("sessiongate_requests_total", {"status_class": "4xx"}, 2),  # the bad cookie, the path
    ]
    for name, labels, expected in expectations:
        if delta(name, **labels) != expected:
            problems.append(f"{name}{labels} rose by {delta(name, **labels):g}, expected {expected}")
    if value(after, "sessiongate_requests_in_flight") != 0:
        problems.append("sessiongate_requests_in_flight is not 0 when idle")

    for problem in problems:
        print(f"FAIL {problem}")
    print(f"metrics check: {len(doc)} documented metrics, {len(types)} exposed, "
          f"{'all agree' if not problems else f'{len(problems)} problems'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
