#!/usr/bin/env python3
"""TLS versions against the listener (used by tls_listener.sh): `tls_listener.py PORT CA_FILE`.

TLS 1.2 and TLS 1.3 clients that verify the certificate (CA_FILE, host name localhost) get a
response to a request; a client that offers TLS 1.1 at most is refused by the server (a
protocol_version alert), not by its own settings. Exit 1 with the reason on any failure.
"""
import socket
import ssl
import sys
import warnings

# TLS 1.1 is deprecated in Python too; offering it is the point of the refusal check.
warnings.filterwarnings("ignore", category=DeprecationWarning)

PORT, CA = int(sys.argv[1]), sys.argv[2]


def request(context: ssl.SSLContext) -> tuple[str, str]:
    with socket.create_connection(("127.0.0.1", PORT), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"GET /login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
            return tls.version(), data.split(b"\r\n", 1)[0].decode()


def pinned(version: ssl.TLSVersion) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=CA)
    context.minimum_version = version
    context.maximum_version = version
    return context


failures = []
for version, name in [(ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")]:
    try:
        negotiated, status = request(pinned(version))
        if negotiated != name or status != "HTTP/1.1 200 OK":
            failures.append(f"{name}: negotiated {negotiated}, status {status!r}")
    except (OSError, ssl.SSLError) as error:
        failures.append(f"{name} refused: {error}")

# OpenSSL 3 will not offer TLS 1.1 at its default security level: level 0 lets this client
# offer it, so the refusal measured is the server's.
old = pinned(ssl.TLSVersion.TLSv1_1)
old.set_ciphers("DEFAULT:@SECLEVEL=0")
try:
    negotiated, _ = request(old)
    failures.append(f"a TLS 1.1-only client was accepted ({negotiated})")
except ssl.SSLError as error:
    if "PROTOCOL_VERSION" not in str(error).upper():
        failures.append(f"TLS 1.1 refused, but not with a protocol_version alert: {error}")

if failures:
    print("FAIL tls_listener.py: " + "; ".join(failures))
    sys.exit(1)
print("tls_listener.py: TLSv1.2 and TLSv1.3 accepted, TLS 1.1 refused (protocol_version alert)")
