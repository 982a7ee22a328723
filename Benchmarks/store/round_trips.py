#!/usr/bin/env python3
"""Store round trips per request, counted by the servers themselves (not by the proxy):
Redis `INFO commandstats` deltas and PostgreSQL `pg_stat_database.xact_commit` deltas over N
read-only requests with a valid session, and over N requests without a cookie.

Usage: Benchmarks/store/round_trips.py --binary PATH [--requests N]
Needs redis-server and the PostgreSQL server binaries (scripts/lib/postgres.sh installs them)."""
import argparse, http.client, os, re, shutil, signal, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "lib"))
from proctools import free_port, kill_all, proxy_env, proxy_toml, start_test_postgres, wait_port as wait_for_port


def wait_port(port):
    wait_for_port(port, timeout=10, error=SystemExit)


def get(conn, path, cookie=None, headers=None):
    h = dict(headers or {})
    if cookie: h["Cookie"] = cookie
    conn.request("GET", path, headers=h)
    r = conn.getresponse(); r.read()
    return r.status, next((v.split(";")[0] for k, v in r.getheaders() if k.lower() == "set-cookie"), None)


def redis_calls(port):
    out = subprocess.run(["redis-cli", "-p", str(port), "INFO", "commandstats"], capture_output=True, text=True).stdout
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"cmdstat_(\w+):calls=(\d+)", out)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--requests", type=int, default=1000)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="sg-rt-")
    procs = []
    try:
        app = free_port()
        # The upstream: answers 200, and sets a session on /login.
        server = subprocess.Popen(["python3", "-c", f"""
import http.server
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        self.send_response(200)
        if self.path == "/login": self.send_header("X-Session-Set", '{{"user_id":"rt"}}')
        self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
http.server.ThreadingHTTPServer(("127.0.0.1", {app}), H).serve_forever()
"""]); procs.append(server); wait_port(app)
        rport = free_port()
        procs.append(subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", ""], stdout=subprocess.DEVNULL))
        wait_port(rport)
        pg_url, pg_ctl = start_test_postgres(f"{tmp}/pg")
        env = proxy_env(args.binary)
        print(f"{'store':10} {'requests':>8}  {'with a valid session':>28}  {'without a cookie':>18}")
        for label, store in [("redis", f'backend = "redis"\nurl = "redis://127.0.0.1:{rport}/0"'),
                             ("postgres", f'backend = "postgres"\nurl = "{pg_url}"')]:
            port, admin = free_port(), free_port()
            open(f"{tmp}/{label}.toml", "w").write(proxy_toml(port, admin, app, store, session=['touch_interval = "10m"'],
                                                              log_level="error", default="public", public=()))
            p = subprocess.Popen([args.binary, "serve", "--config", f"{tmp}/{label}.toml"], env=env)
            procs.append(p); wait_port(port); time.sleep(0.5)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            _, cookie = get(conn, "/login")
            for _ in range(20): get(conn, "/warm", cookie)  # prepare statements, load scripts
            get(conn, "/warm")
            results = []
            for with_cookie in (True, False):
                if label == "redis":
                    before = redis_calls(rport)
                else:
                    q = "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
                    psql = lambda: int(subprocess.run(["psql", pg_url.split("?")[0], "-Atc", q], capture_output=True, text=True).stdout.strip() or 0)
                    time.sleep(0.6); before = psql()
                for _ in range(args.requests):
                    status, _ = get(conn, "/read", cookie if with_cookie else None)
                    assert status == 200, status
                if label == "redis":
                    after = redis_calls(rport)
                    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}
                    delta.pop("info", None)
                    total = sum(delta.values())
                    results.append(f"{total / args.requests:.2f}/req {dict(delta)}")
                else:
                    time.sleep(0.6)  # the stats collector lags a little
                    total = psql() - before - 1  # the psql session itself commits once
                    results.append(f"{total / args.requests:.2f} queries/req")
            print(f"{label:10} {args.requests:8}  {results[0]:>28}  {results[1]:>18}")
            p.send_signal(signal.SIGTERM); p.wait(10)
        subprocess.run([pg_ctl, "stop"], capture_output=True)
    finally:
        kill_all(procs)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
