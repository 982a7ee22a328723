# shellcheck shell=bash
# A certificate authority made at run time, for the TLS tests (Redis, PostgreSQL, the listener).
#
#   source scripts/lib/tls_ca.sh
#   tls_ca_make "$tmpdir/tls"     # exports SESSIONGATE_TEST_TLS_DIR (a second call on the same
#                                 # folder reuses the CA and certificates already made there)
#
# Writes into the directory (every key unencrypted PEM, mode 0600):
#   ca.pem / ca.key                 the test CA
#   server.pem / server.key         leaf for DNS:localhost and IP:127.0.0.1, signed by the CA
#   chain.pem                       server.pem followed by ca.pem
#   server2.pem / server2.key       a second leaf for the same names (certificate swap tests)
#   wronghost.pem / wronghost.key   leaf for DNS:wrong.example only
#   expired.pem / expired.key       leaf for localhost/127.0.0.1 that expired in 2020
#   client.pem / client.key         client-auth leaf (CN=sessiongate-test-client)
#   other-ca.pem / other-ca.key     an unrelated CA (the "unknown CA" case)
# Nothing here is a secret: the keys exist only for the length of one test run.

tls_ca_make() {
  local dir=$1
  # Idempotent: a second call on the same folder (two test setups sharing one CA) keeps what is
  # there, so servers already started with these certificates stay valid.
  if [ -s "$dir/expired.pem" ] && [ -s "$dir/other-ca.pem" ] && [ -s "$dir/chain.pem" ]; then
    export SESSIONGATE_TEST_TLS_DIR=$dir
    return 0
  fi
  mkdir -p "$dir"
  (
    set -euo pipefail
    cd "$dir"
    umask 077
    quiet() { "$@" >/dev/null 2>&1 || { echo "tls_ca.sh: failed: $*" >&2; "$@"; return 1; }; }

    make_ca() { # name subject
      quiet openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3 \
        -subj "/CN=$2" -keyout "$1.key" -out "$1.pem" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    }
    make_leaf() { # name subject san usage
      quiet openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
        -keyout "$1.key" -out "$1.csr"
      printf 'subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' "$3" "$4" >"$1.ext"
      quiet openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 3 \
        -extfile "$1.ext" -out "$1.pem"
      rm -f "$1.csr" "$1.ext"
    }

    make_ca ca "SessionGate test CA"
    make_ca other-ca "Unrelated test CA"
    make_leaf server localhost "DNS:localhost,IP:127.0.0.1" serverAuth
    make_leaf server2 localhost "DNS:localhost,IP:127.0.0.1" serverAuth
    make_leaf wronghost wrong.example "DNS:wrong.example" serverAuth
    make_leaf client sessiongate-test-client "DNS:sessiongate-test-client" clientAuth
    cat server.pem ca.pem >chain.pem

    # An expired leaf: `openssl ca` takes explicit start and end dates.
    mkdir -p ca-db && : >ca-db/index.txt && echo 1000 >ca-db/serial
    cat >ca-db/ca.cnf <<CNF
[ca]
default_ca = test
[test]
database = ca-db/index.txt
serial = ca-db/serial
new_certs_dir = ca-db
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = any
copy_extensions = none
[any]
commonName = supplied
[leaf]
subjectAltName = DNS:localhost,IP:127.0.0.1
extendedKeyUsage = serverAuth
basicConstraints = CA:FALSE
CNF
    quiet openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
      -keyout expired.key -out expired.csr
    quiet openssl ca -batch -config ca-db/ca.cnf -extensions leaf -startdate 20200101000000Z \
      -enddate 20200102000000Z -in expired.csr -out expired.pem -notext
    rm -f expired.csr
    chmod 0644 ./*.pem
  ) || return 1
  export SESSIONGATE_TEST_TLS_DIR=$dir
}
