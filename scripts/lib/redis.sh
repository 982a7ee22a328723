# shellcheck shell=bash
# Test Redis servers for SessionGate: one standalone server and one 3-master cluster on loopback.
#
#   source scripts/lib/redis.sh
#   redis_start_all "$tmpdir"   # exports SESSIONGATE_TEST_REDIS_URL, SESSIONGATE_TEST_REDIS_CLUSTER
#   ...
#   redis_stop_all
#
# Installs redis-server with apt-get when it is missing. Every wait is bounded; on failure the
# functions print the server logs and return non-zero.

REDIS_PIDS=()
REDIS_DIR=""

# Picks a free TCP port on 127.0.0.1 whose cluster bus port (+10000) is free as well.
redis_free_port() {
  python3 - <<'PY'
import random, socket
for _ in range(200):
    port = random.randint(20000, 50000)
    ok = True
    for p in (port, port + 10000):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            ok = False
        finally:
            s.close()
    if ok:
        print(port)
        break
PY
}

redis_ensure_installed() {
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    return 0
  fi
  echo "redis.sh: installing redis-server" >&2
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    sudo apt-get update -qq >/dev/null && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
  command -v redis-server >/dev/null 2>&1 || { echo "redis.sh: redis-server could not be installed" >&2; return 1; }
}

# redis_start_server DIR PORT [extra redis-server args...]: starts one daemonless server.
redis_start_server() {
  local dir="$1" port="$2"
  shift 2
  mkdir -p "$dir"
  redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save "" --appendonly no \
    --logfile "$dir/redis.log" --protected-mode no "$@" >/dev/null 2>&1 &
  REDIS_PIDS+=("$!")
}

# redis_wait_ready PORT [redis-cli args...]: waits up to 10 s for PING to answer.
redis_wait_ready() {
  local port="$1"
  shift
  local i
  for i in $(seq 1 100); do
    if [ "$(redis-cli -h 127.0.0.1 -p "$port" "$@" ping 2>/dev/null)" = "PONG" ]; then
      return 0
    fi
    sleep 0.1
  done
  echo "redis.sh: redis on port $port did not become ready" >&2
  return 1
}

# redis_dump_logs [DIR]: the tail of each server's log under DIR (default: redis_start_all's).
redis_dump_logs() {
  local log
  for log in "${1:-$REDIS_DIR}"/*/redis.log; do
    [ -f "$log" ] || continue
    echo "---- $log" >&2
    tail -n 30 "$log" >&2
  done
}

# redis_start_all TMPDIR: standalone server + 3-master cluster; exports the test variables.
redis_start_all() {
  REDIS_DIR="${1:?usage: redis_start_all TMPDIR}/redis"
  mkdir -p "$REDIS_DIR"
  redis_ensure_installed || return 1

  local standalone_port
  standalone_port="$(redis_free_port)"
  redis_start_server "$REDIS_DIR/standalone" "$standalone_port"

  local cluster_ports=() port i
  for i in 1 2 3; do
    port="$(redis_free_port)"
    cluster_ports+=("$port")
    redis_start_server "$REDIS_DIR/cluster-$port" "$port" --cluster-enabled yes \
      --cluster-config-file "$REDIS_DIR/cluster-$port/nodes.conf" --cluster-node-timeout 5000
  done

  redis_wait_ready "$standalone_port" || { redis_dump_logs; return 1; }
  for port in "${cluster_ports[@]}"; do
    redis_wait_ready "$port" || { redis_dump_logs; return 1; }
  done

  local nodes=()
  for port in "${cluster_ports[@]}"; do nodes+=("127.0.0.1:$port"); done
  if ! redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$REDIS_DIR/cluster-create.log" 2>&1; then
    cat "$REDIS_DIR/cluster-create.log" >&2
    redis_dump_logs
    return 1
  fi
  # Bounded wait until every node agrees the cluster is up.
  local ok
  for i in $(seq 1 100); do
    ok=1
    for port in "${cluster_ports[@]}"; do
      redis-cli -h 127.0.0.1 -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || ok=0
    done
    [ "$ok" = 1 ] && break
    sleep 0.1
  done
  if [ "$ok" != 1 ]; then
    echo "redis.sh: cluster did not reach cluster_state:ok" >&2
    redis_dump_logs
    return 1
  fi

  export SESSIONGATE_TEST_REDIS_URL="redis://127.0.0.1:$standalone_port/0"
  export SESSIONGATE_TEST_REDIS_CLUSTER="127.0.0.1:${cluster_ports[0]}"
  echo "redis.sh: standalone on $standalone_port, cluster on ${cluster_ports[*]}" >&2
}

# redis_stop_all: stops every server redis_start_all started (by pid) and waits for them.
redis_stop_all() {
  local pid
  for pid in "${REDIS_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${REDIS_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  REDIS_PIDS=()
}
