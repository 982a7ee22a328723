"""Helpers the Python test, soak and benchmark scripts share: free loopback ports, waiting for a
listener, starting processes (tracked, so that a script stops exactly what it started, by pid)
and stopping them, the proxy config and keys the scripts run `sessiongate serve` with, the test
PostgreSQL of scripts/lib/postgres.sh, and a wrk script that counts answers by status code.

Import it relative to the script's own file:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "<up>", "lib"))
    from proctools import free_port, wait_port, ...
"""
import json
import os
import signal
import socket
import subprocess
import random
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# ---- ports --------------------------------------------------------------------------------------

def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on (now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def restartable_port():
    """A free port for a server a script stops and starts again on the same port (an outage).

    Below the kernel's ephemeral range: while the server is down, any outgoing connection on the
    machine (a client reconnecting to that very port among them: TCP self-connect) may be given
    an ephemeral port as its local port, and the restart would then fail to bind."""
    try:
        start = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    except (OSError, ValueError, IndexError):
        start = 32768
    for _ in range(100):
        port = random.randrange(10000, max(start, 12000))
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port below the ephemeral range")


def wait_port(port, timeout=15, error=AssertionError, name=""):
    """Until something accepts connections on 127.0.0.1:`port`; raises `error(message)` after
    `timeout` seconds (AssertionError by default; SystemExit to end a script)."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise error(f"nothing on port {port}{f' ({name})' if name else ''} after {timeout}s")


# ---- processes ----------------------------------------------------------------------------------

def spawn(procs, args, log, env=None, mode="a", **popen):
    """Starts `args` with stdout and stderr to the file `log` (appended; mode="w" truncates) and
    adds the process to the list `procs`, for kill_all."""
    proc = subprocess.Popen(args, stdout=open(log, mode), stderr=subprocess.STDOUT, env=env, **popen)
    procs.append(proc)
    return proc


def stop(proc, sig=signal.SIGKILL, timeout=10):
    """Sends `sig` (SIGKILL by default) and waits up to `timeout` s for the exit; SIGKILL if it has
    not exited by then (also when a signal interrupts the wait)."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)


def kill_all(procs, wait=5):
    """SIGKILLs every process of `procs` still running (a SIGSTOPped one too), waiting up to
    `wait` s for each to exit."""
    for proc in procs:
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGCONT)
                proc.kill()
                proc.wait(wait)
            except (OSError, subprocess.TimeoutExpired):
                pass


# ---- sessiongate serve --------------------------------------------------------------------------

def keygen(binary, *flags):
    """A fresh key from `sessiongate keygen`."""
    return subprocess.run([binary, "keygen", *flags], capture_output=True, text=True, check=True).stdout.strip()


def proxy_env(binary, **extra):
    """The environment (this one, plus `extra`) with fresh SG_KEY and SG_SECRET, as proxy_toml reads them."""
    return dict(os.environ, SG_KEY=keygen(binary), SG_SECRET=keygen(binary), **extra)


def proxy_toml(port, admin, upstream_port, store, server=(), upstream=(), session=(), log_level="warning",
               default="session", public=("/public/**",)):
    """A proxy.toml on 127.0.0.1:`port` (admin on `admin`) in front of http://127.0.0.1:`upstream_port`:
    a plain-HTTP cookie "sg" sealed with ${SG_KEY}, tokens signed with ${SG_SECRET}, the [store]
    lines `store`, no access log, routes `default` except the `public` paths. `server`,
    `upstream` and `session` are more lines for those sections."""
    lines = ["[server]", f'listen = "127.0.0.1:{port}"', f'admin_listen = "127.0.0.1:{admin}"', *server,
             "[upstream]", f'url = "http://127.0.0.1:{upstream_port}"', *upstream,
             "[cookie]", 'name = "sg"', "secure = false", 'keys = ["${SG_KEY}"]',
             "[signing]", 'secret = "${SG_SECRET}"']
    if session:
        lines += ["[session]", *session]
    lines += ["[store]", store, "[log]", f'level = "{log_level}"', "access = false",
              "[routes]", f'default = "{default}"']
    for path in public:
        lines += ["[[route]]", f'path = "{path}"', 'access = "public"']
    return "\n" + "\n".join(lines) + "\n"


def start_test_postgres(folder):
    """Starts a throw-away PostgreSQL with scripts/lib/postgres.sh in `folder`; returns
    (its URL, its pg_ctl wrapper: `CTL stop` / `CTL start`)."""
    pg = subprocess.run(["bash", "-c", f'source {ROOT}/scripts/lib/postgres.sh; pg_start {folder} >&2; '
                         'echo "$SESSIONGATE_TEST_POSTGRES_URL"; echo "$SESSIONGATE_TEST_POSTGRES_CTL"'],
                        capture_output=True, text=True)
    url, ctl = pg.stdout.strip().splitlines()[-2:]
    return url, ctl


# ---- wrk ----------------------------------------------------------------------------------------

# A wrk script (`wrk -s`) that prints, at the end, the answers by status code and the socket
# errors as one JSON line each: `STATUSES {"200": 1234}` and `ERRORS {"connect": 0, ...}`.
WRK_STATUS_LUA = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) counts = {} end
function response(status, headers, body) counts[status] = (counts[status] or 0) + 1 end
function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("counts")) do total[status] = (total[status] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(total) do table.insert(parts, string.format('"%d": %d', status, n)) end
  io.write("STATUSES {" .. table.concat(parts, ", ") .. "}\\n")
  local e = summary.errors
  io.write(string.format('ERRORS {"connect": %d, "read": %d, "write": %d, "timeout": %d}\\n', e.connect, e.read, e.write, e.timeout))
end
"""


def write_wrk_status_script(folder):
    """Writes WRK_STATUS_LUA to `folder`/status.lua; returns its path."""
    path = os.path.join(folder, "status.lua")
    with open(path, "w") as f:
        f.write(WRK_STATUS_LUA)
    return path


def wrk_statuses(output):
    """({status: count}, {"connect"|"read"|"write"|"timeout": count}) from the output of wrk run
    with WRK_STATUS_LUA; either is None when wrk did not print its line."""
    lines = {l.split(" ", 1)[0]: json.loads(l.split(" ", 1)[1]) for l in output.splitlines()
             if l.startswith(("STATUSES ", "ERRORS "))}
    statuses = {int(k): v for k, v in lines["STATUSES"].items()} if "STATUSES" in lines else None
    return statuses, lines.get("ERRORS")
