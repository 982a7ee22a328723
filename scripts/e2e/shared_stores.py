#!/usr/bin/env python3
"""Two `sessiongate serve` processes sharing one store, for every shared backend (Redis standalone,
Redis Cluster, PostgreSQL, SQLite): sessions, patches, rotations and revocations seen across
processes at once; 20 concurrent patches split over both processes all kept; a proxy restart
keeps sessions; and a store outage gives 503 on session routes (public routes stay 200) with
recovery without restarting the proxy (a private Redis, and the test PostgreSQL via its pg_ctl).
Uses the servers scripts/test.sh started (SESSIONGATE_TEST_* variables)."""
import base64, concurrent.futures, http.client, http.server, json, os, shutil, signal, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from proctools import free_port, kill_all, restartable_port, proxy_env, proxy_toml, wait_port

BIN = os.environ.get("SESSIONGATE_BIN", ".build/debug/sessiongate")
TMP = tempfile.mkdtemp(prefix="sg-shared-")
PROCS = []


class App(http.server.BaseHTTPRequestHandler):
    """Reflects X-Test-* request headers as session directives and echoes the token's data."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *a): pass

    def do_GET(self):
        token = self.headers.get("X-Session-Token")
        data = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==")).get("data") if token else None
        body = json.dumps({"data": data}).encode()
        self.send_response(200)
        for name, directive in (("X-Test-Set", "X-Session-Set"), ("X-Test-Action", "X-Session-Action")):
            if self.headers.get(name): self.send_header(directive, self.headers[name])
        self.send_header("Content-Type", "application/json"); self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)

    do_POST = do_GET


def request(port, path, cookie=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    h = dict(headers or {})
    if cookie: h["Cookie"] = cookie
    c.request("GET", path, headers=h)
    r = c.getresponse(); body = r.read()
    new = next((v.split(";")[0] for k, v in r.getheaders() if k.lower() == "set-cookie" and v.startswith("sg=")), None)
    return r.status, (json.loads(body) if r.getheader("Content-Type") == "application/json" and r.status == 200 else None), new


class Proxy:
    def __init__(self, name, store_toml, app_port, env):
        self.port, self.admin = restartable_port(), free_port()
        self.path = f"{TMP}/{name}.toml"
        open(self.path, "w").write(proxy_toml(self.port, self.admin, app_port, f'timeout = "1s"\n{store_toml}',
                                              server=['drain_timeout = "2s"'], log_level="error"))
        self.env, self.log = env, f"{TMP}/{name}.log"
        self.start()

    def start(self):
        self.proc = subprocess.Popen([BIN, "serve", "--config", self.path], env=self.env, stdout=open(self.log, "a"), stderr=subprocess.STDOUT)
        PROCS.append(self.proc); wait_port(self.port)

    def restart(self):
        self.proc.send_signal(signal.SIGTERM); assert self.proc.wait(10) == 0, "serve did not exit 0"
        self.start()


def check(cond, message):
    if not cond: raise AssertionError(message)


def shared_behaviour(label, a, b):
    status, _, cookie = request(a.port, "/public/login", headers={"X-Test-Set": json.dumps({"user_id": f"u-{label}"})})
    check(status == 200 and cookie, f"{label}: login on A")
    status, body, _ = request(b.port, "/me", cookie)
    check(status == 200 and body["data"]["user_id"] == f"u-{label}", f"{label}: B does not see A's session")
    # 20 concurrent patches of different keys, alternating proxies.
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        list(pool.map(lambda i: request((a, b)[i % 2].port, "/p", cookie, {"X-Test-Set": json.dumps({f"k{i}": i})}), range(20)))
    _, body, _ = request(a.port, "/me", cookie)
    lost = [i for i in range(20) if body["data"].get(f"k{i}") != i]
    check(not lost, f"{label}: concurrent patches lost {lost}")
    # Rotation on A: the old cookie stops working on B at once.
    _, _, rotated = request(a.port, "/r", cookie, {"X-Test-Action": "rotate"})
    check(rotated and rotated != cookie, f"{label}: rotate gave no new cookie")
    check(request(b.port, "/me", cookie)[0] == 401, f"{label}: old cookie still works on B after rotation")
    check(request(b.port, "/me", rotated)[0] == 200, f"{label}: rotated cookie fails on B")
    # Revocation on B: A's other sessions end at once.
    _, _, second = request(a.port, "/public/login", headers={"X-Test-Set": json.dumps({"user_id": f"u-{label}"})})
    request(b.port, "/x", rotated, {"X-Test-Action": "revoke-all"})
    check(request(a.port, "/me", rotated)[0] == 401 and request(a.port, "/me", second)[0] == 401, f"{label}: revoke-all not seen by A")
    # A restart of the proxy keeps sessions.
    _, _, third = request(a.port, "/public/login", headers={"X-Test-Set": json.dumps({"user_id": f"u-{label}-2"})})
    a.restart()
    check(request(a.port, "/me", third)[0] == 200, f"{label}: session lost across a proxy restart")
    print(f"  {label}: shared sessions, 20 concurrent patches, rotation, revocation, restart: ok")


def outage(label, proxy, stop, start):
    _, _, cookie = request(proxy.port, "/public/login", headers={"X-Test-Set": json.dumps({"user_id": "outage"})})
    check(request(proxy.port, "/me", cookie)[0] == 200, f"{label}: before the outage")
    stop()
    t0 = time.time(); status = request(proxy.port, "/me", cookie)[0]; took = time.time() - t0
    # 1 s store timeout plus slack, scaled by the load per core (a busy machine is slow, not wrong).
    load = max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))
    check(status == 503 and took < 2.5 * load, f"{label}: session route gave {status} after {took:.1f}s while the store was down (load {load:.1f})")
    check(request(proxy.port, "/public/x")[0] == 200, f"{label}: public route failed while the store was down")
    start()
    t0 = time.time()
    while request(proxy.port, "/me", cookie)[0] != 200:
        check(time.time() - t0 < 10 * load, f"{label}: no recovery within {10 * load:.0f} s")
        time.sleep(0.1)
    print(f"  {label}: outage → 503 in {took:.2f}s, public 200, session written before the outage back {time.time() - t0:.2f}s after restart")


def main():
    app_port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", app_port), App)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = proxy_env(BIN)
    redis_url = os.environ["SESSIONGATE_TEST_REDIS_URL"]
    cluster = os.environ["SESSIONGATE_TEST_REDIS_CLUSTER"]
    pg_url = os.environ["SESSIONGATE_TEST_POSTGRES_URL"]
    stores = {
        "redis": f'backend = "redis"\nurl = "{redis_url}"',
        "redis-cluster": f'backend = "redis"\nurl = "redis://{cluster}/0"\ncluster = true',
        "postgres": f'backend = "postgres"\nurl = "{pg_url}"',
        "sqlite": f'backend = "sqlite"\npath = "{TMP}/sessions.db"',
    }
    for label, toml in stores.items():
        a, b = Proxy(f"{label}-a", toml, app_port, env), Proxy(f"{label}-b", toml, app_port, env)
        shared_behaviour(label, a, b)

    # Outages: a private Redis we can kill, and the test PostgreSQL through its pg_ctl wrapper.
    rport = restartable_port()
    rcmd = ["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--dir", TMP]
    holder = {"p": subprocess.Popen(rcmd, stdout=subprocess.DEVNULL)}
    PROCS.append(holder["p"]); wait_port(rport)
    proxy = Proxy("redis-outage", f'backend = "redis"\nurl = "redis://127.0.0.1:{rport}/0"', app_port, env)

    def rstop(): holder["p"].kill(); holder["p"].wait()

    def rstart():
        holder["p"] = subprocess.Popen(rcmd, stdout=subprocess.DEVNULL); PROCS.append(holder["p"]); wait_port(rport)
    outage("redis", proxy, rstop, rstart)
    ctl = os.environ["SESSIONGATE_TEST_POSTGRES_CTL"]
    proxy = Proxy("pg-outage", stores["postgres"], app_port, env)
    outage("postgres", proxy, lambda: subprocess.run([ctl, "stop"], check=True), lambda: subprocess.run([ctl, "start"], check=True))
    print("shared_stores: ok")


if __name__ == "__main__":
    try:
        main()
    except (AssertionError, KeyError) as error:
        print(f"FAIL: {error}"); sys.exit(1)
    finally:
        kill_all(PROCS)
        shutil.rmtree(TMP, ignore_errors=True)
