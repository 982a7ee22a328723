#!/usr/bin/env python3
"""Mint X-Session-Tokens, good and bad, to prove the upstream examples really verify them.

Test helper for upstream_examples.sh. Reads one JSON document on stdin (keys travel there,
never on the command line):

    {"algorithm": "HS256" | "EdDSA",
     "secret": "<HS256 secret string>",            # HS256
     "seed": "<base64 Ed25519 seed>", "jwks": {...},  # EdDSA: the proxy's published JWKS
     "issuer": "...", "audience": "...", "path": "/", "user": "..."}

and prints one line per case, "<name> <token>". The case named "valid" must be accepted by
the app; every other case must be rejected. For EdDSA it also checks that the JWKS the proxy
publishes holds the public key of the configured seed (exit 1 otherwise).
"""

import base64
import json
import sys
import time
import warnings

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from joserfc import jwt
from joserfc.jwk import OKPKey, OctKey

warnings.filterwarnings("ignore", message="EdDSA is deprecated")


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def ed25519_jwk(seed: bytes) -> dict:
    private = Ed25519PrivateKey.from_private_bytes(seed)
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "d": b64url(seed), "x": b64url(public)}


def unsigned(header: dict, claims: dict) -> str:
    encode = lambda value: b64url(json.dumps(value, separators=(",", ":")).encode())  # noqa: E731
    return f"{encode(header)}.{encode(claims)}."


def main() -> int:
    request = json.load(sys.stdin)
    now = int(time.time())
    claims = {
        "iss": request["issuer"], "aud": request["audience"], "iat": now, "exp": now + 60,
        "sid": "minted-by-the-test", "data": {"user_id": request["user"], "visits": 41},
        "htm": "GET", "htu": request["path"],
    }
    variants = {
        "wrong_issuer": {"iss": "someone-else"},
        "wrong_audience": {"aud": "another-app"},
        "expired": {"iat": now - 600, "exp": now - 300},
        "other_path": {"htu": "/elsewhere"},
        "other_method": {"htm": "POST"},
    }
    if request["algorithm"] == "HS256":
        key = OctKey.import_key(request["secret"])
        wrong_key = OctKey.import_key("a-different-secret-that-is-long-enough-0123")
        header = {"alg": "HS256", "typ": "JWT"}
        algorithm = "HS256"
        confusion = None
    else:
        jwk = ed25519_jwk(base64.b64decode(request["seed"], validate=True))
        published = [k for k in request["jwks"].get("keys", []) if k.get("x") == jwk["x"]]
        if len(published) != 1 or published[0].get("crv") != "Ed25519" or not published[0].get("kid"):
            print("the proxy's JWKS does not publish the configured Ed25519 key", file=sys.stderr)
            return 1
        kid = published[0]["kid"]
        key = OKPKey.import_key(jwk)
        wrong_key = OKPKey.import_key(ed25519_jwk(bytes(range(32))))
        header = {"alg": "EdDSA", "typ": "JWT", "kid": kid}
        algorithm = "EdDSA"
        # The classic algorithm confusion: HS256 keyed with the public key's bytes.
        confusion = jwt.encode(
            {"alg": "HS256", "typ": "JWT", "kid": kid}, claims,
            OctKey.import_key(base64.urlsafe_b64decode(jwk["x"] + "=")), algorithms=["HS256"])

    tokens = {"valid": jwt.encode(header, claims, key, algorithms=[algorithm])}
    tokens["wrong_key"] = jwt.encode(header, claims, wrong_key, algorithms=[algorithm])
    tokens["alg_none"] = unsigned({"alg": "none", "typ": "JWT"}, claims)
    valid_parts = tokens["valid"].split(".")
    tokens["tampered_data"] = ".".join(
        [valid_parts[0], b64url(json.dumps({**claims, "data": {"user_id": "admin"}}).encode()), valid_parts[2]])
    for name, change in variants.items():
        tokens[name] = jwt.encode(header, {**claims, **change}, key, algorithms=[algorithm])
    if confusion:
        tokens["hs256_with_public_key"] = confusion
    for name, token in tokens.items():
        print(name, token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
