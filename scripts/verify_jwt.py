#!/usr/bin/env python3
"""Verify X-Session-Tokens with joserfc, an implementation independent of SessionGate.

Reads one JSON document on stdin (secrets travel there, never on the command line):

    {"issuer": "...", "audience": "...", "now": 1700000000,
     "cases": [{"token": "...", "secret": "<HS256 secret as a string>"},
               {"token": "...", "jwks": {"keys": [...]}}]}

and prints {"results": [{"header": {...}, "claims": {...}}, ...]} with every token's verified
header and claims. Any token that does not verify (signature, iss, aud, exp, iat) makes the
script print the reason on stderr and exit 1.
"""

import json
import sys
import warnings

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey

# RFC 9864 prefers the fully-specified "Ed25519" alg, but "EdDSA" (RFC 8037) is what JWT
# libraries widely accept today, so SessionGate signs with it; the warning is expected here.
warnings.filterwarnings("ignore", message="EdDSA is deprecated")


def verify(case: dict, issuer: str, audience: str, now: int) -> dict:
    if "secret" in case:
        key = OctKey.import_key(case["secret"])
        algorithms = ["HS256"]
    else:
        key = KeySet.import_key_set(case["jwks"])
        algorithms = ["EdDSA"]
    token = jwt.decode(case["token"], key, algorithms=algorithms)
    registry = jwt.JWTClaimsRegistry(
        now=now,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": audience},
        exp={"essential": True},
        iat={"essential": True},
        sid={"essential": True},
    )
    registry.validate(token.claims)
    return {"header": token.header, "claims": token.claims}


def main() -> int:
    request = json.load(sys.stdin)
    results = []
    for index, case in enumerate(request["cases"]):
        try:
            results.append(verify(case, request["issuer"], request["audience"], request["now"]))
        except (JoseError, ValueError) as error:
            print(f"token {index}: {type(error).__name__}: {error}", file=sys.stderr)
            return 1
    json.dump({"results": results}, sys.stdout, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
