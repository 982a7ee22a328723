#!/usr/bin/env python3
"""Redis Sentinel failover through `sessiongate serve` (real redis-server in sentinel mode).

One primary, one replica, three Sentinels (quorum 2, down-after 1000 ms) on loopback. Sessions are
written through the proxy and confirmed replicated (the replica's offset reaches the primary's);
then, under a load of session reads and writes, the primary is SIGKILLed. Sentinel promotes the
replica and the proxy must follow by itself: the longest run of failed session requests (503) is
measured and bounded, and every session written and replicated before the kill is still there."""
import http.server, json, os, shutil, signal, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
from proctools import free_port, kill_all, proxy_env, spawn, wait_port
import shared_stores
from shared_stores import App, check, request

TMP = tempfile.mkdtemp(prefix="sg-sentinel-")
shutil.rmtree(shared_stores.TMP, ignore_errors=True)
shared_stores.TMP = TMP
PROCS = shared_stores.PROCS
MASTER = "sgmaster"
DOWN_AFTER_MS = 1000


def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=10).stdout.strip()


def repl_offset(port):
    info = dict(line.split(":", 1) for line in cli(port, "info", "replication").splitlines() if ":" in line)
    return int(info.get("master_repl_offset", "0"))


def start_redis(name, port, *extra):
    os.makedirs(f"{TMP}/{name}", exist_ok=True)
    proc = spawn(PROCS, ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--dir", f"{TMP}/{name}",
                         "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0", *extra], f"{TMP}/{name}.log")
    wait_port(port)
    return proc


def start_sentinel(index, primary_port):
    port = free_port()
    conf = f"{TMP}/sentinel-{index}.conf"
    open(conf, "w").write(f"port {port}\nbind 127.0.0.1\ndir {TMP}\n"
                          f"sentinel monitor {MASTER} 127.0.0.1 {primary_port} 2\n"
                          f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}\n"
                          f"sentinel failover-timeout {MASTER} 10000\nsentinel parallel-syncs {MASTER} 1\n")
    spawn(PROCS, ["redis-server", conf, "--sentinel"], f"{TMP}/sentinel-{index}.log")
    wait_port(port)
    return port


def main():
    load = max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))
    app_port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", app_port), App)
    server.handle_error = lambda *args: None
    threading.Thread(target=server.serve_forever, daemon=True).start()

    primary_port, replica_port = free_port(), free_port()
    primary = start_redis("primary", primary_port)
    start_redis("replica", replica_port, "--replicaof", "127.0.0.1", str(primary_port))
    deadline = time.time() + 20 * load
    while "master_link_status:up" not in cli(replica_port, "info", "replication"):
        check(time.time() < deadline, "replica never synced"); time.sleep(0.1)
    sentinels = [start_sentinel(i, primary_port) for i in range(3)]
    deadline = time.time() + 20 * load
    while not cli(sentinels[0], "sentinel", "replicas", MASTER).count("127.0.0.1") or \
            cli(sentinels[0], "sentinel", "master", MASTER).count("num-other-sentinels\n2") == 0:
        check(time.time() < deadline, "sentinels never saw the replica and each other"); time.sleep(0.2)

    addresses = ", ".join(f'"127.0.0.1:{p}"' for p in sentinels)
    proxy = shared_stores.Proxy("sentinel", f'backend = "redis"\nsentinels = [{addresses}]\nmaster_name = "{MASTER}"',
                                app_port, proxy_env(shared_stores.BIN))

    # Sessions written before the kill, then confirmed replicated.
    before = {}
    for i in range(50):
        status, _, cookie = request(proxy.port, "/public/login", headers={"X-Test-Set": json.dumps({"user_id": f"pre-{i}"})})
        check(status == 200 and cookie, f"login {i} before the kill gave {status}")
        before[f"pre-{i}"] = cookie
    target = repl_offset(primary_port)
    deadline = time.time() + 10 * load
    while repl_offset(replica_port) < target:
        check(time.time() < deadline, "replica did not catch up"); time.sleep(0.05)
    print(f"  50 sessions written through the proxy, replicated (offset {target})")

    # Load: session reads of a known cookie and fresh logins (writes), recording each outcome.
    outcomes, stop = [], threading.Event()
    probe = before["pre-0"]

    def worker(n):
        i = 0
        while not stop.is_set():
            i += 1
            t = time.time()
            try:
                if i % 2:
                    status = request(proxy.port, "/me", probe)[0]
                else:
                    status = request(proxy.port, "/public/login", headers={"X-Test-Set": json.dumps({"user_id": f"w{n}-{i}"})})[0]
            except OSError:
                status = -1
            outcomes.append((t, status))
            time.sleep(0.01)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads: thread.start()
    time.sleep(1.0)
    killed_at = time.time()
    primary.send_signal(signal.SIGKILL); primary.wait()
    # Until Sentinel names the replica and the proxy has answered 200 for 3 s in a row.
    deadline = killed_at + 60 * load
    while True:
        check(time.time() < deadline, "the proxy did not recover after the failover")
        recent = [s for t, s in list(outcomes) if t > time.time() - 3]
        promoted = cli(sentinels[0], "sentinel", "get-master-addr-by-name", MASTER).splitlines()[-1:] == [str(replica_port)]
        if promoted and time.time() - killed_at > 3 and recent and all(s == 200 for s in recent):
            break
        time.sleep(0.2)
    stop.set()
    for thread in threads: thread.join()

    # The longest window from the first failed request to the next success.
    events = sorted(outcomes)
    longest, failing_since, failures = 0.0, None, 0
    for t, status in events:
        if status == 200:
            if failing_since is not None: longest = max(longest, t - failing_since)
            failing_since = None
        else:
            failures += 1
            if status not in (503, -1): raise AssertionError(f"unexpected status {status} during the failover")
            failing_since = failing_since if failing_since is not None else t
    # Bound: Sentinel's down-after (1 s) + its election and promotion (~1-2 s) + the proxy's
    # lookup interval (0.1 s) and timeouts (1 s), scaled by the machine's load.
    bound = (DOWN_AFTER_MS / 1000 + 6) * load
    print(f"  primary SIGKILLed under load: {len(events)} requests, {failures} failed (503), "
          f"longest 503 window {longest:.2f}s (bound {bound:.1f}s)")
    check(longest < bound, f"longest 503 window {longest:.2f}s over the bound {bound:.1f}s")

    lost = [user for user, cookie in before.items()
            if (lambda r: r[0] != 200 or r[1]["data"]["user_id"] != user)(request(proxy.port, "/me", cookie))]
    check(not lost, f"sessions written and replicated before the kill are gone: {lost[:5]}")
    check(request(proxy.port, "/public/login", headers={"X-Test-Set": '{"user_id":"after"}'})[0] == 200, "write after failover")
    print(f"  all 50 replicated sessions still there on the new primary (127.0.0.1:{replica_port}); writes work")
    print(f"redis_sentinel: ok (longest 503 window {longest:.2f}s)")


if __name__ == "__main__":
    try:
        main()
    except (AssertionError, KeyError) as error:
        print(f"FAIL: {error}")
        for name in ("sentinel.log",):
            path = f"{TMP}/{name}"
            if os.path.exists(path): print(open(path).read()[-3000:])
        sys.exit(1)
    finally:
        kill_all(PROCS)
        shutil.rmtree(TMP, ignore_errors=True)
