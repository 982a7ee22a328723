#!/usr/bin/env python3
"""`sessiongate serve` against the TLS-only Redis servers scripts/test.sh started
(SESSIONGATE_TEST_REDIS_TLS_URL, SESSIONGATE_TEST_REDIS_TLS_CLUSTER, SESSIONGATE_TEST_TLS_DIR):
sessions through the proxy over TLS (standalone and cluster), then every TLS failure (unknown CA,
a certificate for another host, an expired certificate, plain text against a TLS-only server)
keeps /readyz at 503 and session routes at 503 with the reason in the log, never a downgrade;
`sessiongate check` names a missing tls_ca."""
import http.client, json, os, shutil, subprocess, sys, tempfile, threading, http.server, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
from proctools import free_port, kill_all, proxy_env, proxy_toml, spawn, wait_port
import shared_stores
from shared_stores import App, check, request

BIN = shared_stores.BIN
TMP = tempfile.mkdtemp(prefix="sg-redis-tls-")
shutil.rmtree(shared_stores.TMP, ignore_errors=True)
shared_stores.TMP = TMP  # its Proxy writes configs and logs there
PROCS = shared_stores.PROCS


def readyz(proxy):
    c = http.client.HTTPConnection("127.0.0.1", proxy.admin, timeout=10)
    c.request("GET", "/readyz")
    return c.getresponse().status


def sessions_work(label, proxy):
    status, _, cookie = request(proxy.port, "/public/login", headers={"X-Test-Set": json.dumps({"user_id": label})})
    check(status == 200 and cookie, f"{label}: login over TLS")
    status, body, _ = request(proxy.port, "/me", cookie)
    check(status == 200 and body["data"]["user_id"] == label, f"{label}: session not read back over TLS")
    check(readyz(proxy) == 200, f"{label}: /readyz not 200")
    print(f"  {label}: session written and read back over TLS, /readyz 200")


def fails_closed(label, proxy, reason):
    deadline = time.time() + 20
    while readyz(proxy) != 503:
        check(time.time() < deadline, f"{label}: /readyz never 503")
        time.sleep(0.1)
    check(request(proxy.port, "/me", "sg=x")[0] in (401, 503), f"{label}: session route")
    status, _, _ = request(proxy.port, "/public/login", headers={"X-Test-Set": json.dumps({"user_id": "x"})})
    check(status == 503, f"{label}: a session write gave {status}, not 503")
    check(request(proxy.port, "/public/x")[0] == 200, f"{label}: public route failed")
    log = open(proxy.log).read()
    check(reason in log, f"{label}: the log does not say {reason!r}:\n{log[-2000:]}")
    print(f"  {label}: /readyz 503, session write 503, public 200, log says {reason!r}")


def private_tls_redis(certificate):
    port = free_port()
    tls = os.environ["SESSIONGATE_TEST_TLS_DIR"]
    spawn(PROCS, ["redis-server", "--bind", "127.0.0.1", "--port", "0", "--tls-port", str(port), "--save", "",
                  "--tls-cert-file", f"{tls}/{certificate}.pem", "--tls-key-file", f"{tls}/{certificate}.key",
                  "--tls-ca-cert-file", f"{tls}/ca.pem", "--tls-auth-clients", "no"], f"{TMP}/redis-{certificate}.log")
    wait_port(port)
    return port


def main():
    app_port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", app_port), App)
    server.handle_error = lambda *args: None  # resets from proxies killed at the end
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = proxy_env(BIN)
    tls = os.environ["SESSIONGATE_TEST_TLS_DIR"]
    url = os.environ["SESSIONGATE_TEST_REDIS_TLS_URL"]
    cluster = os.environ["SESSIONGATE_TEST_REDIS_TLS_CLUSTER"]
    ca = f'tls_ca = "{tls}/ca.pem"'
    Proxy = shared_stores.Proxy

    sessions_work("tls-standalone", Proxy("tls", f'backend = "redis"\nurl = "{url}"\n{ca}', app_port, env))
    sessions_work("tls-cluster", Proxy("tls-cluster", f'backend = "redis"\nurl = "rediss://{cluster}/0"\ncluster = true\n{ca}', app_port, env))

    wrong_ca = f'backend = "redis"\nurl = "{url}"\ntls_ca = "{tls}/other-ca.pem"'
    fails_closed("unknown CA", Proxy("wrong-ca", wrong_ca, app_port, env), "unknown CA")
    plain = "redis://" + url[len("rediss://"):]
    fails_closed("plain text to TLS-only", Proxy("plain", f'backend = "redis"\nurl = "{plain}"', app_port, env), "use rediss://")
    expired = private_tls_redis("expired")
    fails_closed("expired certificate", Proxy("expired", f'backend = "redis"\nurl = "rediss://127.0.0.1:{expired}/0"\n{ca}', app_port, env),
                 "certificate expired")
    wronghost = private_tls_redis("wronghost")
    fails_closed("wrong host", Proxy("wronghost", f'backend = "redis"\nurl = "rediss://localhost:{wronghost}/0"\n{ca}', app_port, env),
                 "name mismatch")

    bad = f"{TMP}/bad.toml"
    open(bad, "w").write(proxy_toml(free_port(), free_port(), app_port, f'backend = "redis"\nurl = "{url}"\ntls_ca = "{TMP}/nope.pem"'))
    result = subprocess.run([BIN, "check", "--config", bad], env=env, capture_output=True, text=True)
    check(result.returncode == 1 and "store.tls_ca" in result.stderr and "does not exist" in result.stderr,
          f"check did not name the missing tls_ca: {result.stderr}")
    print("  check: a missing tls_ca file is named by key")
    print("redis_tls: ok")


if __name__ == "__main__":
    try:
        main()
    except (AssertionError, KeyError) as error:
        print(f"FAIL: {error}"); sys.exit(1)
    finally:
        kill_all(PROCS)
        shutil.rmtree(TMP, ignore_errors=True)
