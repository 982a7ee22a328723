#!/usr/bin/env python3
"""Soak run (not part of scripts/test.sh): SECONDS (default 600) of mixed traffic through one
`sessiongate serve` with the Redis store (a private redis-server) — logins, reads, patches,
logouts, streamed downloads and uploads, a few clients that give up mid-transfer, 401s, and a
`wrk` read load — sampling the proxy's RSS, open fds and upstream/store/client connections every
10 s. Prints the samples and a summary; exits 1 if RSS or fds keep growing or any request failed.
Usage: scripts/soak.py [SECONDS]   (scripts/soak.sh picks the binary; SESSIONGATE_BIN overrides)."""
import http.client, json, os, shutil, signal, socket, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from proctools import free_port, kill_all, proxy_env, proxy_toml, spawn, wait_port, write_wrk_status_script, wrk_statuses

BIN = os.environ.get("SESSIONGATE_BIN", ".build/debug/sessiongate")
APP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "e2e", "faults.py")  # its `app` mode is the upstream
INTERVAL = float(os.environ.get("SOAK_INTERVAL", "10"))
WORKERS = int(os.environ.get("SOAK_WORKERS", "6"))
PROCS, TMP = [], tempfile.mkdtemp(prefix="sg-soak-")
COUNTS_LOCK = threading.Lock()
COUNTS = {"requests": 0, "errors": 0, "logins": 0, "reads": 0, "patches": 0, "logouts": 0, "downloads": 0,
          "uploads": 0, "abandoned": 0, "unauthenticated": 0}
ERRORS = []


def wait_for(port):
    wait_port(port, error=lambda message: SystemExit(f"FAIL: {message}"))


def count(kind, n=1):
    with COUNTS_LOCK: COUNTS[kind] += n; COUNTS["requests"] += n


def error(message):
    with COUNTS_LOCK:
        COUNTS["errors"] += 1
        if len(ERRORS) < 20: ERRORS.append(f"{time.strftime('%H:%M:%S')} {message}")


class Worker(threading.Thread):
    """Loops a user journey on one keep-alive connection and checks every answer."""
    def __init__(self, wid, port, stop):
        super().__init__(daemon=True); self.wid, self.port, self.halt = wid, port, stop
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)

    def call(self, kind, path, cookie=None, headers=None, method="GET", body=None):
        h = dict(headers or {})
        if cookie: h["Cookie"] = cookie
        try:
            self.conn.request(method, path, body=body, headers=h)
            r = self.conn.getresponse(); data = r.read()
        except (OSError, http.client.HTTPException) as e:
            self.conn.close(); error(f"{kind} {path}: {type(e).__name__}: {e}"); return None, None, None
        count(kind)
        new = next((v.split(";")[0] for k, v in r.getheaders() if k.lower() == "set-cookie" and v.startswith("sg=")), None)
        parsed = json.loads(data) if r.getheader("Content-Type") == "application/json" and r.status == 200 else data
        return r.status, parsed, new

    def expect(self, what, ok):
        if not ok: error(what)
        return ok

    def journey(self, n):
        user = f"w{self.wid}-{n}"
        status, _, cookie = self.call("logins", "/public/login", headers={"X-Test-Set": json.dumps({"user_id": user, "cart": []})})
        if not self.expect(f"login {user}: {status}", status == 200 and cookie): return
        for _ in range(5):
            status, body, _ = self.call("reads", "/me", cookie)
            if not self.expect(f"read {user}: {status}", status == 200 and body["data"]["user_id"] == user): return
        status, _, _ = self.call("patches", "/me", cookie, {"X-Test-Set": json.dumps({"cart": [n], "seen": n})})
        self.expect(f"patch {user}: {status}", status == 200)
        status, body, _ = self.call("reads", "/me", cookie)
        self.expect(f"read after patch {user}: {status}", status == 200 and body["data"].get("seen") == n)
        if n % 3 == 0:
            status, body, _ = self.call("downloads", "/stream?bytes=262144&delay_ms=0", cookie)
            self.expect(f"download {user}: {status}", status == 200 and len(body) == 262144)
        if n % 3 == 1:
            status, body, _ = self.call("uploads", "/upload", cookie, {"Content-Type": "application/octet-stream"}, "POST", b"u" * 262144)
            self.expect(f"upload {user}: {status}", status == 200 and body["received"] == 262144)
        if n % 5 == 0:
            status, _, _ = self.call("unauthenticated", "/me")
            self.expect(f"anonymous read: {status}", status == 401)
        if n % 10 == 0: self.abandon(cookie, upload=(n % 20 == 0))
        status, _, _ = self.call("logouts", "/logout", cookie, {"X-Test-Action": "destroy"})
        self.expect(f"logout {user}: {status}", status == 200)
        status, _, _ = self.call("reads", "/me", cookie)
        self.expect(f"read after logout {user}: {status} (expected 401)", status == 401)

    def abandon(self, cookie, upload):
        """A client that gives up mid-transfer (the proxy must close both sides, nothing leaks)."""
        try:
            s = socket.create_connection(("127.0.0.1", self.port), 5)
            if upload:
                s.sendall(f"POST /upload HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nContent-Length: 1048576\r\n\r\n".encode() + b"u" * 65536)
            else:
                s.sendall(f"GET /stream?bytes=67108864&delay_ms=1 HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n".encode()); s.recv(4096)
            s.close(); count("abandoned")
        except OSError as e:
            error(f"abandoned transfer: {e}")

    def run(self):
        n = 0
        while not self.halt.is_set():
            self.journey(n); n += 1
        self.conn.close()


def sockets(pid, ports):
    """Open fds and TCP connections of the proxy by kind (via /proc/PID/fd and /proc/PID/net/tcp)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try: target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError: continue
        if target.startswith("socket:["): inodes.add(target[8:-1])
    kinds = {"client": 0, "upstream": 0, "store": 0}
    for table in ("tcp", "tcp6"):
        for line in open(f"/proc/{pid}/net/{table}").readlines()[1:]:
            f = line.split()
            if f[9] not in inodes or f[3] == "0A": continue
            local, remote = int(f[1].split(":")[1], 16), int(f[2].split(":")[1], 16)
            if local in ports["proxy"]: kinds["client"] += 1
            elif remote == ports["upstream"]: kinds["upstream"] += 1
            elif remote == ports["store"]: kinds["store"] += 1
    return kinds


def sample(pid, ports, started):
    rss = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS:"))
    with COUNTS_LOCK: served, errors = COUNTS["requests"], COUNTS["errors"]
    return {"t": round(time.time() - started), "rss_kib": rss, "fds": len(os.listdir(f"/proc/{pid}/fd")),
            "requests": served, "errors": errors, **sockets(pid, ports)}


def average(rows, key): return sum(r[key] for r in rows) / len(rows)


def main(seconds):
    env = proxy_env(BIN)
    app_port, redis_port, port, admin = free_port(), free_port(), free_port(), free_port()
    spawn(PROCS, [sys.executable, APP, "app", str(app_port)], f"{TMP}/app.log"); wait_for(app_port)
    spawn(PROCS, ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                  "--dir", TMP, "--protected-mode", "no"], f"{TMP}/redis.log"); wait_for(redis_port)
    open(f"{TMP}/proxy.toml", "w").write(proxy_toml(port, admin, app_port, f'backend = "redis"\nurl = "redis://127.0.0.1:{redis_port}/0"'))
    proxy = spawn(PROCS, [BIN, "serve", "--config", f"{TMP}/proxy.toml"], f"{TMP}/proxy.log", env); wait_for(port)
    ports = {"proxy": (port, admin), "upstream": app_port, "store": redis_port}
    time.sleep(1)
    print(f"soak: {seconds}s through {BIN} (pid {proxy.pid}), redis store, {WORKERS} journey workers + wrk -c2 on a read route")
    started, halt = time.time(), threading.Event()
    samples = [sample(proxy.pid, ports, started)]
    print("    t(s)   RSS(KiB)  fds  client  upstream  store   requests  errors")
    show = lambda s: print(f"  {s['t']:6d} {s['rss_kib']:10d} {s['fds']:4d} {s['client']:7d} {s['upstream']:9d} {s['store']:6d} {s['requests']:10d} {s['errors']:7d}", flush=True)
    show(samples[0])
    # wrk reads one long-lived session (its own login) for volume.
    login = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    login.request("GET", "/public/login", headers={"X-Test-Set": json.dumps({"user_id": "wrk"})})
    r = login.getresponse(); r.read(); wrk_cookie = r.getheader("Set-Cookie").split(";")[0]; login.close()
    wrk = subprocess.Popen(["wrk", "-t1", "-c2", f"-d{seconds}s", "--timeout", "10s", "-s", write_wrk_status_script(TMP),
                            "-H", f"Cookie: {wrk_cookie}", f"http://127.0.0.1:{port}/me"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    PROCS.append(wrk)
    workers = [Worker(i, port, halt) for i in range(WORKERS)]
    for w in workers: w.start()
    while time.time() - started < seconds:
        time.sleep(min(INTERVAL, max(0.0, seconds - (time.time() - started))))
        check_alive(proxy)
        samples.append(sample(proxy.pid, ports, started)); show(samples[-1])
    halt.set()
    for w in workers: w.join(30)
    out, _ = wrk.communicate(timeout=30)
    wrk_counts, _ = wrk_statuses(out)
    if wrk_counts is None: raise SystemExit(f"FAIL: wrk printed no summary: {out[-400:]}")
    time.sleep(3)  # idle: client connections closed by the clients, only pools remain
    idle = sample(proxy.pid, ports, started)
    return summarise(samples, idle, wrk_counts)


def check_alive(proxy):
    if proxy.poll() is not None:
        print(f"FAIL: the proxy exited with {proxy.returncode}; log tail:\n" + "".join(open(f"{TMP}/proxy.log").readlines()[-20:]))
        sys.exit(1)


def summarise(samples, idle, wrk_counts):
    loaded = samples[1:]  # samples under load (the first is before any traffic)
    third = max(1, len(loaded) // 3)
    first, last = loaded[:third], loaded[-third:]
    rss_growth = average(last, "rss_kib") / average(first, "rss_kib") - 1
    fds = [s["fds"] for s in loaded]
    # Growing = the whole last third sits above the whole first third (by 3+), or the averages
    # differ by more than 10; a one-off connection more or less at a sample is not growth.
    fds_monotonic = len(fds) >= 3 and min(s["fds"] for s in last) >= max(s["fds"] for s in first) + 3
    fds_growth = average(last, "fds") - average(first, "fds")
    wrk_total, wrk_bad = sum(wrk_counts.values()), sum(v for k, v in wrk_counts.items() if k != 200)
    served = samples[-1]["requests"] + wrk_total
    errors = samples[-1]["errors"] + wrk_bad
    print(f"\nsummary ({samples[-1]['t']} s):")
    print(f"  requests served: {served} ({samples[-1]['requests']} by the journey workers: " +
          ", ".join(f"{k} {v}" for k, v in COUNTS.items() if k not in ("requests", "errors")) + f"; {wrk_total} by wrk: {wrk_counts})")
    print(f"  errors: {errors}" + ("".join(f"\n    {e}" for e in ERRORS)))
    print(f"  RSS: {samples[0]['rss_kib']} KiB before load, {loaded[0]['rss_kib']} KiB first sample, {loaded[-1]['rss_kib']} KiB last; "
          f"last-third avg vs first-third avg {rss_growth * 100:+.1f}% (limit +20%)")
    print(f"  fds: {samples[0]['fds']} before load, {loaded[0]['fds']} first, {loaded[-1]['fds']} last, {idle['fds']} idle after; "
          f"last-third avg − first-third avg {fds_growth:+.1f}; last third all above first third: {'yes' if fds_monotonic else 'no'}")
    print(f"  upstream connections: {min(s['upstream'] for s in loaded)}–{max(s['upstream'] for s in loaded)} under load, {idle['upstream']} idle after; "
          f"store connections: {idle['store']}; client connections idle after: {idle['client']}")
    failures = []
    if rss_growth > 0.20: failures.append(f"RSS grew {rss_growth * 100:.1f}% (last third vs first third)")
    if fds_monotonic or fds_growth > 10: failures.append(f"fds kept growing ({fds[0]} → {fds[-1]})")
    if errors: failures.append(f"{errors} failed requests")
    if served == 0: failures.append("no requests served")
    for f in failures: print(f"FAIL: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit("soak: terminated"))
    signal.signal(signal.SIGINT, lambda *a: sys.exit("soak: interrupted"))
    status = 1
    try:
        status = main(int(sys.argv[1]) if len(sys.argv) > 1 else 600)
        if status == 0: print("soak: ok")
    finally:
        kill_all(PROCS)
        shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(status)
