#!/usr/bin/env python3
"""SessionGate proxy benchmark: one table, interleaved wrk rounds, CPU per request from /proc.

Started by Benchmarks/proxy/run.sh (which installs wrk/nginx/haproxy/caddy/redis/postgres and
builds the release binary). Everything runs on 127.0.0.1 and is stopped by PID at the end.
"""
import argparse, os, re, resource, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "lib"))
from proctools import ROOT, free_port, proxy_env, proxy_toml, spawn, start_test_postgres, wait_port as wait_for_port

CLK_TCK = os.sysconf("SC_CLK_TCK")
RELAY = "nio relay (floor)"
procs = []


def wait_port(port, name=""):
    wait_for_port(port, timeout=20, error=SystemExit, name=name)


def start(cmd, log, env=None):
    """Starts `cmd` in its own process group (stop_all stops the group: nginx and its workers)."""
    return spawn(procs, cmd, log, env=env, mode="w", start_new_session=True)


def stop_all():
    for p in reversed(procs):
        try: os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError: pass
    for p in procs:
        try: p.wait(5)
        except subprocess.TimeoutExpired: os.killpg(p.pid, signal.SIGKILL)


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
        except FileNotFoundError:
            pass
    return total


def children(pid):
    out = [pid]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1]) == pid: out.append(int(entry))
            except (FileNotFoundError, IndexError, ValueError): pass
    return out


def rss_kib(pid, field="VmRSS"):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"): return int(line.split()[1])
    return 0


def units_ms(text):
    value, unit = float(re.match(r"([\d.]+)", text).group(1)), re.sub(r"[\d.]+", "", text)
    return value * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


WRK_THREADS = 1
SESSIONS = 512  # sessions of the "×512" rows


def wrk(url, seconds, conns, headers=()):
    """`headers`: header lines, or "lua:PATH" for a wrk script (the many-sessions rows)."""
    cmd = ["wrk", f"-t{min(WRK_THREADS, conns)}", f"-c{conns}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for h in headers: cmd += ["-s", h[4:]] if h.startswith("lua:") else ["-H", h]
    out = subprocess.run(cmd + [url], capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    lat = dict(re.findall(r"\s+(50|99)%\s+(\S+)", out))
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m: errors += sum(map(int, m.groups()))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m: errors += int(m.group(1))
    return dict(rps=rps, requests=requests, p50=units_ms(lat["50"]), p99=units_ms(lat["99"]), errors=errors)


def cookie_script(path, cookies):
    """A wrk script whose requests cycle through `cookies` (one per session)."""
    with open(path, "w") as f:
        f.write("cookies = {" + ",".join(f'"{c}"' for c in cookies) + "}\n"
                "i = 0\nrequest = function()\n  i = i + 1\n"
                "  return wrk.format(\"GET\", \"/\", {[\"Cookie\"] = cookies[(i % #cookies) + 1]})\nend\n")
    return f"lua:{path}"


def login(port):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("POST", "/login", body=b"", headers={"Content-Length": "0"})
    r = c.getresponse(); r.read()
    cookie = r.getheader("Set-Cookie")
    if not cookie: raise SystemExit(f"login on {port} gave {r.status} without a cookie")
    return cookie.split(";")[0]


def swift_runtime_linkage(binary):
    """'static' or 'shared': how `binary` links the Swift runtime (the README's tables are of the
    static build, as deploy/Dockerfile ships it; a shared-runtime build is several % slower)."""
    try:
        done = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if done.returncode != 0:
        return "unknown"
    return "shared" if "libswiftCore.so" in done.stdout else "static"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2, help="each round runs every target; odd rounds reversed")
    ap.add_argument("--threads", type=int, default=1,
                    help="SessionGate event-loop threads; the proxies compared get as many (nginx workers, haproxy "
                         "nbthread, caddy GOMAXPROCS) and wrk as many threads; the upstream nginx keeps 1 worker")
    ap.add_argument("--skip-extra", action="store_true", help="only the main table")
    ap.add_argument("--only-extra", action="store_true", help="skip the main table")
    ap.add_argument("--targets", default="", help="comma-separated names to run (direct and nginx rows always run)")
    ap.add_argument("--relay", default="",
                    help="the calibration relay binary (Benchmarks/calibration/nio-relay): adds the row 'nio relay (floor)'")
    ap.add_argument("--chart", default="", help="also write the table as an SVG chart (× nginx and CPU µs/req per target)")
    args = ap.parse_args()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tmp = tempfile.mkdtemp(prefix="sg-bench-")
    try:
        run(args, tmp)
    finally:
        stop_all()
        pg_ctl = os.environ.get("SG_BENCH_PG_CTL")
        if pg_ctl: subprocess.run([pg_ctl, "stop"], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


def run(args, tmp):
    global WRK_THREADS
    WRK_THREADS = args.threads
    n = args.threads
    up, ngx, hap, cad, red, ngs, rel = (free_port() for _ in range(7))
    # One certificate (a CA made now, scripts/lib/tls_ca.sh) for both TLS listeners.
    tls = f"{tmp}/tls"
    subprocess.run(["bash", "-c", f'source {ROOT}/scripts/lib/tls_ca.sh; tls_ca_make "{tls}"'], check=True)
    with open(f"{tmp}/big.bin", "wb") as f: f.write(os.urandom(65536))
    os.chmod(tmp, 0o755)  # nginx workers run unprivileged: let them write the WebDAV upload
    for folder in ("dav", "body"):
        os.makedirs(f"{tmp}/{folder}"); os.chmod(f"{tmp}/{folder}", 0o777)
    with open(f"{tmp}/huge.bin", "wb") as f: f.truncate(1 << 30)
    # nginx as the upstream app: small body, 64 KiB body, 1 GiB body, and a login that sets a session.
    open(f"{tmp}/upstream.conf", "w").write(f"""
worker_processes 1; daemon off; pid {tmp}/up.pid; error_log {tmp}/up.err;
events {{ worker_connections 20000; }}
http {{ access_log off; keepalive_requests 1000000; client_max_body_size 0;
  server {{ listen 127.0.0.1:{up};
    location / {{ return 200 "hello from upstream\\n"; }}
    location = /big {{ alias {tmp}/big.bin; }}
    location = /huge {{ alias {tmp}/huge.bin; }}
    location /dav/ {{ root {tmp}; dav_methods PUT; create_full_put_path on; client_body_temp_path {tmp}/body; }}
    location = /login {{ add_header X-Session-Set '{{"user_id":"bench","role":"user"}}'; return 200 "ok\\n"; }}
  }} }}""")
    open(f"{tmp}/proxy.conf", "w").write(f"""
worker_processes {n}; daemon off; pid {tmp}/px.pid; error_log {tmp}/px.err;
events {{ worker_connections 20000; }}
http {{ access_log off; keepalive_requests 1000000;
  upstream app {{ server 127.0.0.1:{up}; keepalive 64; }}
  server {{ listen 127.0.0.1:{ngx};
    location / {{ proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }} }}
  server {{ listen 127.0.0.1:{ngs} ssl; ssl_certificate {tls}/chain.pem; ssl_certificate_key {tls}/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {{ proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }} }} }}""")
    open(f"{tmp}/haproxy.cfg", "w").write(f"""
global
  nbthread {n}
  maxconn 8000
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend f
  bind 127.0.0.1:{hap}
  default_backend b
backend b
  server app 127.0.0.1:{up}
""")
    open(f"{tmp}/Caddyfile", "w").write(f"{{\n admin off\n auto_https off\n}}\nhttp://127.0.0.1:{cad} {{\n reverse_proxy 127.0.0.1:{up}\n}}\n")
    start(["nginx", "-p", tmp, "-c", f"{tmp}/upstream.conf"], f"{tmp}/up.log"); wait_port(up)
    nginx_proxy = start(["nginx", "-p", tmp, "-c", f"{tmp}/proxy.conf"], f"{tmp}/nginx.log"); wait_port(ngx)
    haproxy = start(["haproxy", "-f", f"{tmp}/haproxy.cfg"], f"{tmp}/haproxy.log"); wait_port(hap, name="haproxy")
    caddy = None
    if shutil.which("caddy"):
        caddy = start(["caddy", "run", "--config", f"{tmp}/Caddyfile", "--adapter", "caddyfile"], f"{tmp}/caddy.log",
                      env=dict(os.environ, GOMAXPROCS=str(n), XDG_DATA_HOME=tmp, XDG_CONFIG_HOME=tmp))
        wait_port(cad)
    relay = None
    if args.relay:
        relay = start([args.relay, str(rel), str(up), str(n)], f"{tmp}/relay.log"); wait_port(rel, name="relay")
    redis = start(["redis-server", "--port", str(red), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], f"{tmp}/redis.log")
    wait_port(red)
    pg_url, pg_ctl = start_test_postgres(f"{tmp}/pg")
    os.environ["SG_BENCH_PG_CTL"] = pg_ctl
    pg_port = int(re.search(r"@127\.0\.0\.1:(\d+)/", pg_url).group(1))
    postmaster = int(open(f"{tmp}/pg/data/postmaster.pid").readline())

    env = proxy_env(args.binary, SESSIONGATE_THREADS=str(args.threads))
    gates = {}
    tls_lines = [f'tls_cert = "{tls}/chain.pem"', f'tls_key = "{tls}/server.key"']
    for mode, store in [("public", 'backend = "memory"'), ("tls", 'backend = "memory"'), ("memory", 'backend = "memory"'),
                        ("redis", f'backend = "redis"\nurl = "redis://127.0.0.1:{red}/0"'),
                        ("postgres", f'backend = "postgres"\nurl = "{pg_url}"'),
                        ("sqlite", f'backend = "sqlite"\npath = "{tmp}/sessions.db"')]:
        port, admin = free_port(), free_port()
        server = ["max_body_bytes = 0"] + (tls_lines if mode == "tls" else [])
        open(f"{tmp}/{mode}.toml", "w").write(proxy_toml(port, admin, up, store, server=server,
                                                         public=("/login", "/public/**")))
        p = start([args.binary, "serve", "--config", f"{tmp}/{mode}.toml"], f"{tmp}/{mode}.log", env=env)
        wait_port(port)
        gates[mode] = (p, port)
    time.sleep(1.0)  # postgres store migrates at start
    cookies = {m: login(gates[m][1]) for m in ("memory", "redis", "postgres", "sqlite")}
    # These rows cycle through 512 sessions, a different cookie on each request of a connection:
    # PostgreSQL and SQLite send one query per event-loop round, each session once, so a round
    # loads distinct ones; and a connection opens every cookie (its memo of the last opened
    # cookie never hits), as on a connection a load balancer shares between users.
    many = {m: cookie_script(f"{tmp}/{m}-sessions.lua", [login(gates[m][1]) for _ in range(SESSIONS)])
            for m in ("memory", "postgres", "sqlite")}

    targets = [  # name, url, headers, proxy pids, store pids
        ("direct", f"http://127.0.0.1:{up}/", (), [], []),
        ("nginx proxy_pass", f"http://127.0.0.1:{ngx}/", (), children(nginx_proxy.pid), []),
        ("haproxy", f"http://127.0.0.1:{hap}/", (), [haproxy.pid], []),
    ]
    if caddy: targets.append(("caddy reverse_proxy", f"http://127.0.0.1:{cad}/", (), [caddy.pid], []))
    # SwiftNIO forwarding bytes and parsing nothing: what SessionGate's own code adds is the distance to this row.
    if relay: targets.append((RELAY, f"http://127.0.0.1:{rel}/", (), [relay.pid], []))
    targets += [
        ("sessiongate public", f"http://127.0.0.1:{gates['public'][1]}/public/x", (), [gates["public"][0].pid], []),
        ("sessiongate memory", f"http://127.0.0.1:{gates['memory'][1]}/", (f"Cookie: {cookies['memory']}",), [gates["memory"][0].pid], []),
        ("sessiongate redis", f"http://127.0.0.1:{gates['redis'][1]}/", (f"Cookie: {cookies['redis']}",), [gates["redis"][0].pid], [redis.pid]),
        ("sessiongate postgres", f"http://127.0.0.1:{gates['postgres'][1]}/", (f"Cookie: {cookies['postgres']}",), [gates["postgres"][0].pid], "pg"),
        ("sessiongate sqlite", f"http://127.0.0.1:{gates['sqlite'][1]}/", (f"Cookie: {cookies['sqlite']}",), [gates["sqlite"][0].pid], []),
        (f"sessiongate memory ×{SESSIONS}", f"http://127.0.0.1:{gates['memory'][1]}/", (many["memory"],),
         [gates["memory"][0].pid], []),
        (f"sessiongate postgres ×{SESSIONS}", f"http://127.0.0.1:{gates['postgres'][1]}/", (many["postgres"],),
         [gates["postgres"][0].pid], "pg"),
        (f"sessiongate sqlite ×{SESSIONS}", f"http://127.0.0.1:{gates['sqlite'][1]}/", (many["sqlite"],),
         [gates["sqlite"][0].pid], []),
        # TLS termination, same certificate (P-256 leaf + CA chain): keep-alive, then a handshake per request.
        ("nginx TLS proxy_pass", f"https://127.0.0.1:{ngs}/", (), children(nginx_proxy.pid), []),
        ("sessiongate TLS public", f"https://127.0.0.1:{gates['tls'][1]}/public/x", (), [gates["tls"][0].pid], []),
        ("nginx TLS conn/req", f"https://127.0.0.1:{ngs}/", ("Connection: close",), children(nginx_proxy.pid), []),
        ("sessiongate TLS conn/req", f"https://127.0.0.1:{gates['tls'][1]}/public/x", ("Connection: close",),
         [gates["tls"][0].pid], []),
        ("direct 64KiB", f"http://127.0.0.1:{up}/big", (), [], []),
        ("nginx 64KiB", f"http://127.0.0.1:{ngx}/big", (), children(nginx_proxy.pid), []),
        ("sessiongate memory 64KiB", f"http://127.0.0.1:{gates['memory'][1]}/big", (f"Cookie: {cookies['memory']}",), [gates["memory"][0].pid], []),
    ]
    if args.only_extra: targets = targets[:1] + [t for t in targets if t[0] == "nginx proxy_pass" or t[0] == "direct 64KiB" or t[0] == "nginx 64KiB"]
    if args.targets:
        wanted = {"direct", "nginx proxy_pass", RELAY, "direct 64KiB", "nginx 64KiB"} | set(args.targets.split(","))
        targets = [t for t in targets if t[0] in wanted]
    for name, url, headers, *_ in targets:  # warm-up (and sanity: every target answers without errors)
        result = wrk(url, 1, 64, headers)
        if result["errors"]: print(f"warning: {name} had {result['errors']} errors in warm-up", file=sys.stderr)
    results = {t[0]: [] for t in targets}
    for rnd in range(args.rounds):
        order = targets if rnd % 2 == 0 else list(reversed(targets))
        for name, url, headers, proxy_pids, store_pids in order:
            spids = children(postmaster) if store_pids == "pg" else store_pids
            before, sbefore = cpu_ticks(proxy_pids), cpu_ticks(spids)
            r = wrk(url, args.seconds, 64, headers)
            r["cpu"] = (cpu_ticks(proxy_pids) - before) / CLK_TCK
            r["scpu"] = (cpu_ticks(spids) - sbefore) / CLK_TCK
            results[name].append(r)

    def agg(name):
        runs = results[name]
        req = sum(r["requests"] for r in runs)
        return dict(rps=statistics.mean(r["rps"] for r in runs), p50=statistics.mean(r["p50"] for r in runs),
                    p99=statistics.mean(r["p99"] for r in runs), errors=sum(r["errors"] for r in runs),
                    cpu=sum(r["cpu"] for r in runs) * 1e6 / req, scpu=sum(r["scpu"] for r in runs) * 1e6 / req)

    print(f"\nwrk -t{n} -c64, {args.seconds}s × {args.rounds} interleaved rounds; SessionGate threads={n}, "
          f"nginx/haproxy {n} worker(s), caddy GOMAXPROCS={n}; {os.cpu_count()} cores; "
          f"Swift runtime linked {swift_runtime_linkage(args.binary)}")
    print(f"{'target':28} {'req/s':>9} {'×direct':>8} {'×nginx':>7} {'p50 ms':>7} {'p99 ms':>7} {'µs/req':>7} {'store µs':>8} {'errors':>6}")
    direct, nginx = agg("direct")["rps"], agg("nginx proxy_pass")["rps"]
    direct_big, nginx_big = agg("direct 64KiB")["rps"], agg("nginx 64KiB")["rps"]
    chart_rows = []
    for name, *_ in targets:
        a = agg(name)
        base, nbase = (direct_big, nginx_big) if "64KiB" in name else (direct, nginx)
        cpu = f"{a['cpu']:.0f}" if name not in ("direct", "direct 64KiB") else "-"
        scpu = f"{a['scpu']:.0f}" if a["scpu"] else "-"
        print(f"{name:28} {a['rps']:9.0f} {a['rps']/base:8.2f} {a['rps']/nbase:7.2f} {a['p50']:7.2f} {a['p99']:7.2f} {cpu:>7} {scpu:>8} {a['errors']:6d}")
        if not name.startswith("direct"):
            chart_rows.append((name, a["rps"] / nbase, a["cpu"] + a["scpu"]))
    if args.chart:
        write_chart(args.chart, chart_rows, f"wrk -t{n} -c64, {args.seconds}s × {args.rounds} rounds, {os.cpu_count()} cores, "
                    f"SessionGate threads={args.threads}")
        print(f"chart: {args.chart}")

    if args.skip_extra: return
    print("\nunloaded latency (wrk -c1), p50 ms:")
    for name, url, headers in [("direct", f"http://127.0.0.1:{up}/", ()), ("nginx proxy_pass", f"http://127.0.0.1:{ngx}/", ()),
                               ("sessiongate memory", f"http://127.0.0.1:{gates['memory'][1]}/", (f"Cookie: {cookies['memory']}",))]:
        r = wrk(url, args.seconds, 1, headers)
        print(f"  {name:24} p50 {r['p50']:.3f}  p99 {r['p99']:.3f}")

    pid, port = gates["public"][0].pid, gates["public"][1]
    rss0 = rss_kib(pid)
    socks = []
    for i in range(10000):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /public/idle HTTP/1.1\r\nHost: bench\r\n\r\n")
        socks.append(s)
    for s in socks:
        s.settimeout(10); s.recv(4096)
    time.sleep(1)
    print(f"\n10,000 idle keep-alive connections: proxy RSS {rss0/1024:.1f} MiB → {rss_kib(pid)/1024:.1f} MiB")
    for s in socks: s.close()

    pid, port = gates["memory"][0].pid, gates["memory"][1]
    hwm0 = rss_kib(pid, "VmHWM")
    t0 = time.time()
    subprocess.run(["curl", "-s", "-o", "/dev/null", "-H", f"Cookie: {cookies['memory']}", f"http://127.0.0.1:{port}/huge"], check=True)
    down = time.time() - t0
    s = socket.create_connection(("127.0.0.1", port))
    # nginx's WebDAV PUT reads the whole body before it answers, so this times the full stream.
    s.sendall(f"PUT /dav/upload.bin HTTP/1.1\r\nHost: bench\r\nCookie: {cookies['memory']}\r\nContent-Length: {1 << 30}\r\n\r\n".encode())
    chunk = bytes(1 << 20)
    t0 = time.time()
    for _ in range(1024): s.sendall(chunk)
    s.settimeout(30); reply = s.recv(4096); up_t = time.time() - t0; s.close()
    print(f"1 GiB download {1024/down:.0f} MiB/s, upload {1024/up_t:.0f} MiB/s ({reply.split(b' ')[1].decode()}); "
          f"proxy peak RSS {hwm0/1024:.1f} → {rss_kib(pid, 'VmHWM')/1024:.1f} MiB")


def write_chart(path, rows, subtitle):
    """Two horizontal bar panels in one SVG, written by hand (no plotting library): throughput as a
    multiple of nginx proxy_pass, and CPU µs per request (proxy + store) for each target."""
    def esc(text): return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    label_w, panel_w, bar_h, gap, top = 210, 300, 16, 6, 56
    height = top + len(rows) * (bar_h + gap) + 30
    width = label_w + 2 * panel_w + 60
    max_ratio = max([1.0] + [r[1] for r in rows])
    max_cpu = max([1.0] + [r[2] for r in rows])
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="10" y="18" font-size="14" font-weight="bold">SessionGate proxy benchmark</text>',
           f'<text x="10" y="34" fill="#555">{esc(subtitle)}</text>',
           f'<text x="{label_w}" y="{top - 6}" font-weight="bold">× nginx proxy_pass (higher is better)</text>',
           f'<text x="{label_w + panel_w + 30}" y="{top - 6}" font-weight="bold">CPU µs per request (lower is better)</text>']
    for index, (name, ratio, cpu) in enumerate(rows):
        y = top + index * (bar_h + gap)
        colour = "#2b6cb0" if name.startswith("sessiongate") else "#38a169" if name == RELAY else "#999"
        out.append(f'<text x="{label_w - 8}" y="{y + 12}" text-anchor="end">{esc(name)}</text>')
        w = ratio / max_ratio * (panel_w - 50)
        out.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}"/>')
        out.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 12}">{ratio:.2f}</text>')
        x2 = label_w + panel_w + 30
        w2 = cpu / max_cpu * (panel_w - 50)
        out.append(f'<rect x="{x2}" y="{y}" width="{w2:.1f}" height="{bar_h}" fill="{colour}"/>')
        out.append(f'<text x="{x2 + w2 + 4:.1f}" y="{y + 12}">{cpu:.0f}</text>')
    out.append("</svg>")
    with open(path, "w") as f: f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
