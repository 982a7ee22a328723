# shellcheck shell=bash
# TLS-only test Redis servers (no plain-text port): one standalone server and one 3-master cluster
# whose nodes talk TLS to each other too, all with certificates from scripts/lib/tls_ca.sh.
#
#   source scripts/lib/redis.sh; source scripts/lib/tls_ca.sh; source scripts/lib/redis_tls.sh
#   tls_ca_make "$tmpdir/tls"              # exports SESSIONGATE_TEST_TLS_DIR
#   redis_tls_start_all "$tmpdir"          # exports SESSIONGATE_TEST_REDIS_TLS_URL,
#                                          #         SESSIONGATE_TEST_REDIS_TLS_CLUSTER
#   ...
#   redis_stop_all                         # stops these too (same pid list as redis.sh)

# redis_tls_args: the server's certificate options (client certificates optional).
redis_tls_args() {
  local tls="${SESSIONGATE_TEST_TLS_DIR:?run tls_ca_make first}"
  printf '%s\n' --tls-cert-file "$tls/server.pem" --tls-key-file "$tls/server.key" --tls-ca-cert-file "$tls/ca.pem"
}

# redis_tls_cli PORT ARGS...: redis-cli over TLS, trusting the test CA.
redis_tls_cli() {
  local port="$1"
  shift
  redis-cli --tls --cacert "$SESSIONGATE_TEST_TLS_DIR/ca.pem" -h 127.0.0.1 -p "$port" "$@"
}

redis_tls_start_all() {
  local dir="${1:?usage: redis_tls_start_all TMPDIR}/redis-tls"
  mkdir -p "$dir"
  local tls_args
  mapfile -t tls_args < <(redis_tls_args)

  local standalone_port
  standalone_port="$(redis_free_port)"
  redis_start_server "$dir/standalone" 0 --tls-port "$standalone_port" "${tls_args[@]}" --tls-auth-clients optional

  local cluster_ports=() port i
  for i in 1 2 3; do
    port="$(redis_free_port)"
    cluster_ports+=("$port")
    # The cluster bus always asks the connecting node for a client certificate.
    redis_start_server "$dir/cluster-$port" 0 --tls-port "$port" "${tls_args[@]}" --tls-auth-clients no \
      --tls-client-cert-file "$SESSIONGATE_TEST_TLS_DIR/client.pem" --tls-client-key-file "$SESSIONGATE_TEST_TLS_DIR/client.key" \
      --tls-cluster yes --tls-replication yes --cluster-enabled yes \
      --cluster-config-file "$dir/cluster-$port/nodes.conf" --cluster-node-timeout 5000
  done

  local tls_cli=(--tls --cacert "$SESSIONGATE_TEST_TLS_DIR/ca.pem")
  redis_wait_ready "$standalone_port" "${tls_cli[@]}" || { redis_dump_logs "$dir"; return 1; }
  for port in "${cluster_ports[@]}"; do
    redis_wait_ready "$port" "${tls_cli[@]}" || { redis_dump_logs "$dir"; return 1; }
  done

  local nodes=()
  for port in "${cluster_ports[@]}"; do nodes+=("127.0.0.1:$port"); done
  if ! redis-cli "${tls_cli[@]}" --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes \
    >"$dir/cluster-create.log" 2>&1; then
    cat "$dir/cluster-create.log" >&2
    redis_dump_logs "$dir"
    return 1
  fi
  local ok
  for i in $(seq 1 100); do
    ok=1
    for port in "${cluster_ports[@]}"; do
      redis_tls_cli "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || ok=0
    done
    [ "$ok" = 1 ] && break
    sleep 0.1
  done
  if [ "$ok" != 1 ]; then
    echo "redis_tls.sh: TLS cluster did not reach cluster_state:ok" >&2
    redis_dump_logs "$dir"
    return 1
  fi

  # localhost: verified by DNS name (and SNI); the cluster's nodes announce 127.0.0.1: IP SANs.
  export SESSIONGATE_TEST_REDIS_TLS_URL="rediss://localhost:$standalone_port/0"
  export SESSIONGATE_TEST_REDIS_TLS_CLUSTER="127.0.0.1:${cluster_ports[0]}"
  echo "redis_tls.sh: TLS-only standalone on $standalone_port, TLS-only cluster on ${cluster_ports[*]}" >&2
}
