#!/usr/bin/env python3
"""Fault injection against real processes: `sessiongate serve` under `wrk` load while
  (a) the store is killed and restarted (a private Redis with appendonly, SIGKILL; the test
      PostgreSQL via $SESSIONGATE_TEST_POSTGRES_CTL stop/start),
  (b) the store is paused with SIGSTOP for 3 s (private Redis) and resumed,
  (c) the upstream is killed and restarted,
  (d) the upstream hangs (answers no head; a black-hole socket that never reads),
  (e) clients disconnect mid-upload and mid-download.
Each fault checks the status codes seen (session routes 503 / public routes 200 while the store is
down; 502 / 504 for upstream faults), how long each answer took (no hang), the time to recover
without restarting the proxy, that every session written before the fault is still there with its
own data, and that the proxy's open file descriptors return to the baseline. Prints a table.
Uses the servers scripts/test.sh started (SESSIONGATE_TEST_* variables); `wrk` must be installed.
Run `faults.py app PORT` to start only the upstream app (used internally, in its own process)."""
import base64, http.client, http.server, json, os, shutil, signal, socket, subprocess, sys, tempfile, threading, time
from urllib.parse import parse_qs, urlparse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from proctools import free_port, kill_all, restartable_port, proxy_env, proxy_toml, spawn as start, stop, wait_port, write_wrk_status_script, wrk_statuses

BIN = os.environ.get("SESSIONGATE_BIN", ".build/debug/sessiongate")
HERE = os.path.abspath(__file__)
STORE_TIMEOUT = 1.0  # [store] timeout, [upstream] connect_timeout and response_timeout
# Scheduling slack for a debug build on a 2-core machine, scaled by how busy the machine is
# (1-minute load per core, at least 1): the bounds measure "fails fast", and a machine running
# other work (scripts/stress-ci.sh loads every core) is slower, not wrong. The printed table
# gives the measured times; the bounds only catch hangs and waits for the wrong timeout.
LOAD = max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))
SLACK = 0.9 * LOAD
PROCS = []  # every process we start; killed by pid at exit
ROWS = []  # (fault, statuses seen, slowest answer, recovery, sessions kept, fds before → after)


# ---------------------------------------------------------------------------------------------
# The upstream app (its own process, so that it can be killed and restarted).

class App(http.server.BaseHTTPRequestHandler):
    """Echoes the token's data; X-Test-Set / X-Test-Action become directives; /…/stream sends a
    large body slowly; /…/upload reads a body; /…/hang never answers; /…/stats counts aborts."""
    protocol_version = "HTTP/1.1"
    stats = {"streams_aborted": 0, "uploads_truncated": 0, "hangs": 0}
    lock = threading.Lock()

    def log_message(self, *args): pass

    def count(self, key):
        with self.lock: self.stats[key] += 1

    def reply(self, body, status=200):
        self.send_response(status)
        for name, directive in (("X-Test-Set", "X-Session-Set"), ("X-Test-Action", "X-Session-Action")):
            if self.headers.get(name): self.send_header(directive, self.headers[name])
        self.send_header("Content-Type", "application/json"); self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)

    def do_GET(self):
        url = urlparse(self.path); query = {k: int(v[0]) for k, v in parse_qs(url.query).items()}
        if url.path.endswith("/hang"):
            self.count("hangs"); threading.Event().wait(120); return
        if url.path.endswith("/stats"):
            with self.lock: return self.reply(json.dumps(self.stats).encode())
        if url.path.endswith("/stream"):
            return self.stream(query.get("bytes", 1 << 20), query.get("chunk", 16384), query.get("delay_ms", 5))
        token = self.headers.get("X-Session-Token")
        data = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==")).get("data") if token else None
        self.reply(json.dumps({"data": data}).encode())

    def do_POST(self):
        if urlparse(self.path).path.endswith("/upload"):
            want, got = int(self.headers.get("Content-Length", "0")), 0
            while got < want:
                piece = self.rfile.read(min(65536, want - got))
                if not piece:
                    self.count("uploads_truncated"); self.close_connection = True; return
                got += len(piece)
            return self.reply(json.dumps({"received": got}).encode())
        self.do_GET()

    def stream(self, size, chunk, delay_ms):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream"); self.send_header("Content-Length", str(size))
        self.end_headers()
        try:
            sent = 0
            while sent < size:
                piece = min(chunk, size - sent)
                self.wfile.write(b"x" * piece); self.wfile.flush(); sent += piece
                time.sleep(delay_ms / 1000)
        except (BrokenPipeError, ConnectionResetError):
            self.count("streams_aborted"); self.close_connection = True


def serve_app(port):
    http.server.ThreadingHTTPServer.request_queue_size = 256  # the default backlog (5) drops SYNs under load
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), App)
    server.daemon_threads = True
    server.serve_forever()


# ---------------------------------------------------------------------------------------------
# Processes, ports, requests.

def spawn(args, log):
    return start(PROCS, args, log, env=ENV)


class UpstreamApp:
    def __init__(self):
        self.port = restartable_port(); self.start()

    def start(self):
        self.proc = spawn([sys.executable, HERE, "app", str(self.port)], f"{TMP}/app.log"); wait_port(self.port)

    def kill(self): stop(self.proc)


class PrivateRedis:
    """A redis-server of our own (appendonly) that we may kill, pause and restart."""
    def __init__(self):
        self.port = restartable_port(); os.makedirs(f"{TMP}/redis", exist_ok=True); self.start()

    def start(self):
        self.proc = spawn(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
                           "--dir", f"{TMP}/redis", "--protected-mode", "no"], f"{TMP}/redis.log")
        wait_port(self.port)

    def kill(self): stop(self.proc)
    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)
        end = time.time() + 2  # the signal is asynchronous: wait until the kernel says "stopped"
        while open(f"/proc/{self.proc.pid}/stat").read().rsplit(")", 1)[1].split()[0] != "T" and time.time() < end: time.sleep(0.005)

    def resume(self): self.proc.send_signal(signal.SIGCONT)


class Proxy:
    def __init__(self, name, store_toml, upstream_port):
        self.name, self.port, self.admin, self.upstream_port = name, free_port(), free_port(), upstream_port
        self.path, self.log = f"{TMP}/proxy-{name}.toml", f"{TMP}/proxy-{name}.log"
        open(self.path, "w").write(proxy_toml(
            self.port, self.admin, upstream_port, f'timeout = "1s"\n{store_toml}', server=['drain_timeout = "2s"'],
            upstream=['connect_timeout = "1s"', 'response_timeout = "1s"']))
        self.proc = spawn([BIN, "serve", "--config", self.path], self.log); wait_port(self.port)
        end = time.time() + 10
        while request(self.admin, "/readyz")[0] != 200:
            check(time.time() < end, f"{name}: /readyz not 200 after start"); time.sleep(0.1)
        time.sleep(0.5)  # signal handlers and timers are set up just after the listener opens

    def sockets(self):
        """The proxy's open fds by kind, from /proc/PID/fd and /proc/PID/net/tcp{,6}."""
        inodes = {}
        for fd in os.listdir(f"/proc/{self.proc.pid}/fd"):
            try: target = os.readlink(f"/proc/{self.proc.pid}/fd/{fd}")
            except OSError: continue
            inodes[target[8:-1] if target.startswith("socket:[") else f"fd{fd}"] = target
        kinds = {"total": len(inodes), "listen": 0, "client": 0, "upstream": 0, "store": 0, "other": len(inodes)}
        for table in ("tcp", "tcp6"):
            for line in open(f"/proc/{self.proc.pid}/net/{table}").readlines()[1:]:
                f = line.split()
                if f[9] not in inodes: continue
                local, remote, state = int(f[1].split(":")[1], 16), int(f[2].split(":")[1], 16), f[3]
                kind = ("listen" if state == "0A" else "client" if local in (self.port, self.admin)
                        else "upstream" if remote == self.upstream_port else "store")
                kinds[kind] += 1; kinds["other"] -= 1
        return kinds


def request(port, path, cookie=None, headers=None, method="GET", timeout=6):
    """(status or 'error: …', seconds, JSON body or None, new session cookie or None)."""
    t0 = time.time()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    h = dict(headers or {})
    if cookie: h["Cookie"] = cookie
    try:
        c.request(method, path, headers=h)
        r = c.getresponse(); body = r.read()
        new = next((v.split(";")[0] for k, v in r.getheaders() if k.lower() == "set-cookie" and v.startswith("sg=")), None)
        parsed = json.loads(body) if r.status == 200 and r.getheader("Content-Type") == "application/json" else None
        return r.status, time.time() - t0, parsed, new
    except (OSError, http.client.HTTPException) as error:
        return f"error: {type(error).__name__}", time.time() - t0, None, None
    finally:
        c.close()


def check(cond, message):
    if not cond: raise AssertionError(message)


def login(port, user):
    status, _, _, cookie = request(port, "/public/login", headers={"X-Test-Set": json.dumps({"user_id": user, "n": user[::-1]})})
    check(status == 200 and cookie, f"login of {user} gave {status}")
    return cookie, user


def sessions_kept(port, sessions):
    """Every session written before a fault reads back with its own data."""
    for cookie, user in sessions:
        status, _, body, _ = request(port, "/me", cookie)
        check(status == 200 and body["data"] == {"user_id": user, "n": user[::-1]}, f"session of {user} lost or changed: {status} {body}")
    return f"{len(sessions)}/{len(sessions)}"


# ---------------------------------------------------------------------------------------------
# Load (wrk) and probes (timed single requests that also check each session's data).

class Load:
    """`wrk` on one path until stopped (SIGINT makes wrk print its summary)."""
    def __init__(self, port, path, cookie=None, connections=4):
        args = ["wrk", "-t1", f"-c{connections}", "-d60s", "--timeout", "4s", "-s", WRK_SCRIPT, f"http://127.0.0.1:{port}{path}"]
        if cookie: args += ["-H", f"Cookie: {cookie}"]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True); PROCS.append(self.proc)

    def result(self):
        self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=15)
        statuses, errors = wrk_statuses(out)
        check(statuses is not None and errors is not None, f"wrk printed no summary: {out[-400:]}")
        return statuses, errors


class Prober(threading.Thread):
    """Alternates a session-route request (cycling through known sessions, checking each answer
    carries that session's own data) and a public-route request, recording start, end, status."""
    def __init__(self, port, sessions, session_path="/me", public_path="/public/x"):
        super().__init__(daemon=True)
        self.port, self.sessions, self.paths = port, sessions, {"session": session_path, "public": public_path}
        self.samples, self.halt = [], threading.Event(); self.start()

    def run(self):
        i = 0
        while not self.halt.is_set():
            for kind, path in self.paths.items():
                cookie, user = self.sessions[i % len(self.sessions)]
                t0 = time.time()
                status, took, body, _ = request(self.port, path, cookie if kind == "session" else None)
                got = ((body or {}).get("data") or {}).get("user_id")
                if kind == "session" and status == 200 and got != user:
                    status = f"WRONG SESSION (asked {user}, got {got})"
                self.samples.append((t0, t0 + took, kind, status))
            i += 1; time.sleep(0.03)

    def stop(self):
        self.halt.set(); self.join(10)

    def first_ok_after(self, t, kind="session"):
        return next((end for start, end, k, s in self.samples if k == kind and s == 200 and end >= t), None)

    def wait_recovery(self, t, timeout):
        end = time.time() + timeout
        while time.time() < end:
            if self.first_ok_after(t) and self.first_ok_after(t, "public"): return
            time.sleep(0.05)
        raise AssertionError(f"no recovery within {timeout}s")


def within(samples, kind, t_from=0.0, t_to=float("inf")):
    """The samples of `kind` that started and ended inside [t_from, t_to): a request in flight
    when a fault begins or ends may legitimately see either side of it."""
    return [(start, end, s) for start, end, k, s in samples if k == kind and start >= t_from and end < t_to]


def tally(samples, kind, t_from=0.0, t_to=float("inf")):
    counts = {}
    for _, _, s in within(samples, kind, t_from, t_to): counts[s] = counts.get(s, 0) + 1
    return counts


def fmt(counts):
    return " ".join(f"{k}×{v}" for k, v in sorted(counts.items(), key=lambda kv: str(kv[0]))) or "-"


def run_fault(label, proxy, sessions, inject, restore, hold, during, login_status, ready_status, session_path="/me"):
    """Load + probes; inject the fault, hold it, restore it; check `during` = {"session": {...},
    "public": {...}} statuses while it lasts, 200 before and after, answer times, recovery."""
    base = proxy.sockets()
    loads = [Load(proxy.port, session_path, sessions[0][0]), Load(proxy.port, "/public/x")]
    probe = Prober(proxy.port, sessions, session_path)
    try:
        time.sleep(1.5)
        last = login(proxy.port, f"last-before-{len(ROWS)}")  # written under load, just before the fault
        t_inject = time.time(); inject(); t_down = time.time()
        login_during = request(proxy.port, "/public/login", headers={"X-Test-Set": json.dumps({"user_id": "during"})})
        time.sleep(hold / 2); ready_during = request(proxy.admin, "/readyz")[0]; time.sleep(hold / 2)
        t_restore = time.time(); restore(); t_up = time.time()
        probe.wait_recovery(t_up, 15)
        time.sleep(1.0)
    finally:
        probe.stop()
        (wrk_session, err_session), (wrk_public, err_public) = [l.result() for l in loads]
    samples = probe.samples
    wrong = [s for s in samples if str(s[3]).startswith("WRONG")]
    check(not wrong, f"{label}: a request was answered with another session's data: {wrong[:3]}")
    for kind in ("session", "public"):
        before, down = tally(samples, kind, 0, t_inject), tally(samples, kind, t_down, t_restore)
        check(set(before) == {200}, f"{label}: {kind} route before the fault: {fmt(before)}")
        odd = [(round(a - t_down, 3), round(b - a, 3), st) for a, b, st in within(samples, kind, t_down, t_restore) if st not in during[kind]]
        check(down and not odd, f"{label}: {kind} route during the fault: {fmt(down)}, expected {during[kind]}; "
              f"unexpected (start after fault s, took s, status): {odd[:5]}")
        recovered = probe.first_ok_after(t_up, kind)
        after = tally(samples, kind, recovered, float("inf"))
        check(set(after) == {200}, f"{label}: {kind} route flapped after recovery: {fmt(after)}")
    slowest = max(end - start for start, end, _, _ in samples)
    check(slowest <= STORE_TIMEOUT + SLACK, f"{label}: an answer took {slowest:.2f}s (bound {STORE_TIMEOUT + SLACK:.1f}s)")
    allowed = during["session"] | during["public"] | {200}
    for name, counts, errors in (("session", wrk_session, err_session), ("public", wrk_public, err_public)):
        check(set(counts) <= allowed, f"{label}: wrk on the {name} route saw {fmt(counts)}")
        check(errors["timeout"] == 0 and errors["connect"] == 0, f"{label}: wrk on the {name} route: {errors}")
    check(login_during[0] == login_status and login_during[3] is None,
          f"{label}: a login during the fault gave {login_during[0]} (expected {login_status}), cookie set: {login_during[3] is not None}")
    check(ready_during == ready_status, f"{label}: /readyz during the fault gave {ready_during}, expected {ready_status}")
    check(request(proxy.admin, "/readyz")[0] == 200, f"{label}: /readyz not 200 after recovery")
    recovery = max(probe.first_ok_after(t_up), probe.first_ok_after(t_up, "public")) - t_up
    kept = sessions_kept(proxy.port, sessions + [last]) + " (incl. one written just before)"
    fds = fds_back(label, proxy, base)
    down_s, down_p = tally(samples, "session", t_down, t_restore), tally(samples, "public", t_down, t_restore)
    seen = (f"probes during: session {fmt(down_s)}, public {fmt(down_p)}; login {login_during[0]}; /readyz {ready_during}; "
            f"wrk session {fmt(wrk_session)}, public {fmt(wrk_public)}; wrk socket errors read={err_session['read'] + err_public['read']}")
    ROWS.append((label, seen, f"{slowest:.2f}s", f"{recovery:.2f}s", kept, fds))
    print(f"  {label}: ok — {seen}; slowest answer {slowest:.2f}s; recovered {recovery:.2f}s after restore; "
          f"sessions kept {kept}; fds {fds}")


# ---------------------------------------------------------------------------------------------
# File descriptors.

# Pooled connections are not leaks: the upstream pool keeps up to max_idle_connections idle
# keep-alive connections per event loop, and the store clients (Redis pool, postgres-nio pool) grow
# with concurrency. After a fault, client sockets, listeners and every non-socket fd must be back to
# the baseline exactly; upstream and store sockets may differ by at most the load's concurrency.
POOL_TOLERANCE = 8


def fds_back(label, proxy, base, timeout=6):
    """Waits (bounded) until the proxy's fds are back to the baseline (pools within
    POOL_TOLERANCE); returns "before → after" for the table."""
    end = time.time() + timeout
    while True:
        now = proxy.sockets()
        settled = (now["client"] <= base["client"] and now["other"] <= base["other"] and now["listen"] == base["listen"]
                   and now["upstream"] <= base["upstream"] + POOL_TOLERANCE and now["store"] <= base["store"] + POOL_TOLERANCE)
        if settled or time.time() > end: break
        time.sleep(0.1)
    text = f"{base['total']} → {now['total']} (upstream {base['upstream']} → {now['upstream']}, client {now['client']}, store {base['store']} → {now['store']})"
    check(settled, f"{label}: fds not back to the baseline: {text}; before {base}, after {now}")
    return text


# ---------------------------------------------------------------------------------------------
# Upstream hangs and client disconnects (no load generator needed).

def black_hole():
    """A listener that accepts connections and never reads or answers."""
    listener = socket.socket(); listener.bind(("127.0.0.1", 0)); listener.listen(64)
    held = []
    threading.Thread(target=lambda: [held.append(listener.accept()) for _ in iter(int, 1)], daemon=True).start()
    return listener.getsockname()[1]


def parallel(calls):
    """Runs the calls at once; a call's exception becomes its result."""
    results = [None] * len(calls)

    def run(i, f):
        try: results[i] = f()
        except Exception as error: results[i] = error
    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(calls)]
    for t in threads: t.start()
    for t in threads: t.join(20)
    return results


def hang_fault(label, proxy, sessions, paths):
    base = proxy.sockets()
    cookie = sessions[0][0] if sessions else None
    calls = [lambda p=p: request(proxy.port, p, cookie) for p in paths]
    # While those hang: other requests (or, when every upstream request hangs, the admin listener).
    others = ([(proxy.port, "/public/x", None), (proxy.port, "/me", sessions[1][0])] if sessions
              else [(proxy.admin, "/livez", None), (proxy.admin, "/readyz", None)])
    meanwhile = []
    side = threading.Thread(target=lambda: (time.sleep(0.3), meanwhile.extend(request(*o) for o in others)))
    side.start()
    results = parallel(calls); side.join(10)
    statuses = {}
    for status, took, _, _ in results: statuses[status] = statuses.get(status, 0) + 1
    times = [took for _, took, _, _ in results]
    check(set(statuses) == {504}, f"{label}: expected 504 for every hanging request, got {fmt(statuses)}")
    check(min(times) >= STORE_TIMEOUT - 0.05 and max(times) <= STORE_TIMEOUT + SLACK,
          f"{label}: 504 after {min(times):.2f}–{max(times):.2f}s, response_timeout is {STORE_TIMEOUT}s")
    check([r[0] for r in meanwhile] == [200, 200] and max(r[1] for r in meanwhile) < 0.5 * LOAD,
          f"{label}: other requests while upstream requests hung: {[(r[0], round(r[1], 2)) for r in meanwhile]}")
    fds = fds_back(label, proxy, base)
    kept = sessions_kept(proxy.port, sessions) if proxy.name != "blackhole" else "n/a (memory)"
    seen = f"{fmt(statuses)} after {min(times):.2f}–{max(times):.2f}s; other requests meanwhile 200 in {max(r[1] for r in meanwhile):.2f}s"
    ROWS.append((label, seen, f"{max(times):.2f}s", "none needed", kept, fds))
    print(f"  {label}: ok — {seen}; fds {fds}")


def abandon_upload(port, path, cookie):
    s = socket.create_connection(("127.0.0.1", port), 5)
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {1 << 20}\r\nContent-Type: application/octet-stream\r\n"
    s.sendall((head + (f"Cookie: {cookie}\r\n" if cookie else "") + "\r\n").encode() + b"u" * (256 << 10))
    time.sleep(0.2); s.close()


def abandon_download(port, path, cookie):
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.sendall(f"GET {path}?bytes={64 << 20}&chunk=16384&delay_ms=2 HTTP/1.1\r\nHost: x\r\n{f'Cookie: {cookie}' + chr(13) + chr(10) if cookie else ''}\r\n".encode())
    got = b""
    while len(got) < 8192:
        piece = s.recv(4096)
        check(piece, f"download closed early: {got[:40]!r}"); got += piece
        check(got[:12] == b"HTTP/1.1 200"[:len(got[:12])], f"download answered {got[:40]!r}")
    s.close()


def app_stats(proxy):
    return request(proxy.port, "/public/stats")[2]


def disconnect_fault(label, proxy, sessions, count=10):
    # Warm up: complete uploads and downloads, so the baseline includes a warm upstream pool.
    for _ in range(2):
        check(request(proxy.port, "/public/upload", method="POST", headers={"Content-Length": "0"})[0] == 200, "upload warm-up")
        check(request(proxy.port, "/public/stream?bytes=65536&delay_ms=0")[0] == 200, "download warm-up")
    time.sleep(0.3)
    base, before = proxy.sockets(), app_stats(proxy)
    cookie = sessions[0][0]
    calls = [lambda i=i: abandon_upload(proxy.port, "/public/upload" if i % 2 else "/upload", None if i % 2 else cookie) for i in range(count)]
    calls += [lambda i=i: abandon_download(proxy.port, "/public/stream" if i % 2 else "/stream", None if i % 2 else cookie) for i in range(count)]
    errors = [repr(r) for r in parallel(calls) if r is not None]
    check(not errors, f"{label}: {errors[:3]}")
    end = time.time() + 6
    while time.time() < end:
        after = app_stats(proxy)
        if after["streams_aborted"] - before["streams_aborted"] >= count and after["uploads_truncated"] - before["uploads_truncated"] >= count: break
        time.sleep(0.1)
    aborted, truncated = after["streams_aborted"] - before["streams_aborted"], after["uploads_truncated"] - before["uploads_truncated"]
    check(aborted >= count, f"{label}: the upstream kept streaming to {count - aborted} abandoned downloads")
    check(truncated >= count, f"{label}: the upstream saw only {truncated}/{count} abandoned uploads end")
    fds = fds_back(label, proxy, base)
    status, _, body, _ = request(proxy.port, "/public/upload", method="POST", headers={"Content-Length": "0"})
    check(status == 200, f"{label}: proxy no longer serves after the disconnects: {status}")
    c = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    c.request("POST", "/upload", body=b"b" * (1 << 20), headers={"Cookie": cookie}); r = c.getresponse()
    check(r.status == 200 and json.loads(r.read())["received"] == 1 << 20, f"{label}: a full 1 MiB upload afterwards failed")
    c.request("GET", "/public/stream?bytes=2097152&delay_ms=0"); r = c.getresponse()
    check(r.status == 200 and len(r.read()) == 2097152, f"{label}: a full 2 MiB download afterwards failed"); c.close()
    kept = sessions_kept(proxy.port, sessions)
    seen = (f"{count} uploads cut at 256 KiB of 1 MiB, {count} downloads cut after 8 KiB of 64 MiB; upstream saw "
            f"{truncated} truncated uploads and {aborted} aborted streams; then full 1 MiB up / 2 MiB down 200")
    ROWS.append((label, seen, "-", "none needed", kept, fds))
    print(f"  {label}: ok — {seen}; fds {fds}")


# ---------------------------------------------------------------------------------------------

def print_table():
    header = ("fault", "statuses seen", "slowest answer", "recovery after restore", "sessions kept", "proxy fds before → after")
    print("\n| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in ROWS: print("| " + " | ".join(row) + " |")


def main():
    global ENV, WRK_SCRIPT
    WRK_SCRIPT = write_wrk_status_script(TMP)
    ENV = proxy_env(BIN)
    app, redis = UpstreamApp(), PrivateRedis()
    proxy = Proxy("redis", f'backend = "redis"\nurl = "redis://127.0.0.1:{redis.port}/0"', app.port)
    sessions = [login(proxy.port, f"r{i}") for i in range(10)]
    store_down = {"session": {503}, "public": {200}}

    run_fault("redis killed (SIGKILL) 2 s, restarted", proxy, sessions, redis.kill, redis.start, 2.0, store_down, 503, 503)
    sessions.append(login(proxy.port, "r-after-kill"))
    run_fault("redis paused (SIGSTOP) 3 s, SIGCONT", proxy, sessions, redis.pause, redis.resume, 3.0, store_down, 503, 503)

    ctl = os.environ["SESSIONGATE_TEST_POSTGRES_CTL"]
    pg = Proxy("postgres", f'backend = "postgres"\nurl = "{os.environ["SESSIONGATE_TEST_POSTGRES_URL"]}"', app.port)
    pg_sessions = [login(pg.port, f"p{i}") for i in range(10)]

    def pg_stop(): STOPPED_PG.append(ctl); subprocess.run([ctl, "stop"], check=True, timeout=40)

    def pg_start(): subprocess.run([ctl, "start"], check=True, timeout=40); STOPPED_PG.clear()
    run_fault("postgres stopped (pg_ctl -m fast) 2 s, started", pg, pg_sessions, pg_stop, pg_start, 2.0, store_down, 503, 503)
    stop(pg.proc, signal.SIGTERM)

    upstream_down = {"session": {502}, "public": {502}}
    run_fault("upstream killed (SIGKILL) 2 s, restarted", proxy, sessions, app.kill, app.start, 2.0, upstream_down, 502, 200)
    hang_fault("upstream hangs (no response head)", proxy, sessions, ["/public/hang", "/hang"] * 3)
    hole = Proxy("blackhole", 'backend = "memory"', black_hole())
    hang_fault("upstream black hole (accepts, never reads)", hole, [], ["/public/x"] * 4)
    disconnect_fault("clients disconnect mid-upload / mid-download", proxy, sessions)
    check(proxy.proc.poll() is None, "the proxy died")
    print_table()


TMP, ENV, WRK_SCRIPT, STOPPED_PG = None, None, None, []

if __name__ == "__main__":
    if sys.argv[1:2] == ["app"]:
        serve_app(int(sys.argv[2])); sys.exit(0)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(f"faults: terminated"))
    TMP = tempfile.mkdtemp(prefix="sg-faults-")
    started, status = time.time(), 0
    try:
        main()
        print(f"faults: ok ({time.time() - started:.0f}s, load per core {LOAD:.1f} at the start, slack {SLACK:.1f}s)")
    except (AssertionError, KeyError, subprocess.SubprocessError) as error:
        print(f"FAIL: {error}")
        for name in ("redis", "postgres", "blackhole"):
            log = f"{TMP}/proxy-{name}.log"
            if os.path.exists(log): print(f"--- {name} proxy log (tail)\n" + "".join(open(log).readlines()[-5:]))
        status = 1
    finally:
        for ctl in STOPPED_PG: subprocess.run([ctl, "start"], timeout=40)
        kill_all(PROCS)
        shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(status)
