#!/usr/bin/env python3
"""Writes the seed corpora in Fuzz/corpus/<target>/ (re-run after changing an input layout).

Seeds are small, hand-picked inputs: bypass paths, real cookies, RFC 7396 examples, the TOML
example file, RESP frames and HTTP request heads. Files named seed-* are owned by this script;
the inputs of findings (regression-*) are added by hand and kept.
"""
import base64
import hashlib
import os
import struct
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ROOT = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(ROOT, "corpus")


def write(target, seeds):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.startswith("seed-"):
            os.remove(os.path.join(folder, name))
    for index, seed in enumerate(seeds):
        data = seed.encode() if isinstance(seed, str) else seed
        with open(os.path.join(folder, "seed-%02d" % index), "wb") as handle:
            handle.write(data)


PATHS = r"""/
/admin/users?id=1
/admin/../admin/secret
/public/..%2fadmin
/public/%2e%2e/admin/x
/public/%2E%2E/admin
/public/..;/admin
/admin;jsessionid=1
//admin//x
/./admin/./x/.
/public/%252e%252e/admin
/%61dmin/x
/ADMIN/x
/admin%2fx
/admin%5cx
/public/..\admin
/static/%c0%ae%c0%ae/admin
/static/%e0%80%ae/admin
/static/%ed%a0%80/x
/a/b/c
/a//c
/a/%2A/c
/login/
/login/.
/public/x/../../admin
/admin/.%2e/public
/public/.%2E/admin
/%
/%zz
/admin#frag
/x?a=b&next=//evil.com
/x?#
http://example.com/admin
HTTP://EXAMPLE.COM:80/public/../admin?q
https://example.com:443/x
http://evil.com/admin
http://user@example.com/admin
http://example.com
http://example.com?x
*
example.com:443
/admin/%00
/admin/%7f
/admin/%09
/caf%C3%A9/menu
/%F0%9F%98%80/x
/admin/..
/internal
/static/ok.css
/internal/..%2f..%2fadmin
/public/%2e./admin
/public/.%2e/admin/
/public/../admin/**
/admin/*/x""".split("\n")

COOKIE_KEY_NEW = bytes((i * 7 + 1) & 0xFF for i in range(32))
COOKIE_KEY_OLD = bytes((i * 13 + 5) & 0xFF for i in range(32))


def seal(key, plaintext, name="__Host-session", nonce=bytes(range(12))):
    kid = hashlib.sha256(b"sessiongate-kid:" + key).digest()[:4]
    header = b"\x01" + kid
    sealed = AESGCM(key).encrypt(nonce, plaintext, header + name.encode())
    return base64.urlsafe_b64encode(header + nonce + sealed).rstrip(b"=")


SESSION = b'{"sid":"k3Jd8sQ","data":{"user_id":"alice","role":["admin"]},"created":1700000000}'
COOKIES = [
    seal(COOKIE_KEY_NEW, SESSION),
    seal(COOKIE_KEY_OLD, SESSION, nonce=b"\xff" * 12),
    seal(COOKIE_KEY_NEW, b""),
    seal(COOKIE_KEY_NEW, SESSION, name="session"),
    seal(b"\x00" * 32, SESSION),
    b"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    b"not base64!",
    b"AQ",
    b"",
    b"\"" + seal(COOKIE_KEY_NEW, b"x") + b"\"",
    SESSION,
]

COOKIE_HEADERS = [
    "__Host-session=AQId; theme=dark",
    "theme=dark; __Host-session=AQId; __Host-session=second",
    '__Host-session="quoted"; a=1',
    "  __Host-session = spaced ;;; ; a=b=c",
    "__Host-session",
    "=novalue; __Host-session=",
    "__Host-Session=case; __host-session=lower",
    "a=1;b=2;c=3",
    "sess\u0301ion=combining; session=plain; \u0301=mark",
    "x=\u0301;\u0301__Host-session=hidden",
    "__Host-session=v\u0000nul; a=\r\nb",
    "session\x00session=1; session=2",
    "a\x00x=1; a=2; b=3",
    '"__Host-session"=q; __Host-session="',
    "\t__Host-session\t=\ttab\t",
]

RFC7396 = [
    ('{"a":"c"}', '{"a":"b"}'),
    ('{"b":"c"}', '{"a":"b"}'),
    ('{"a":null}', '{"a":"b"}'),
    ('{"a":null}', '{"a":"b","b":"c"}'),
    ('{"a":"c"}', '{"a":["b"]}'),
    ('{"a":["c"]}', '{"a":"c"}'),
    ('{"a":{"b":"d"}}', '{"a":{"b":"c"}}'),
    ('{"a":{"b":null}}', '{"a":{"b":"c"}}'),
    ('{"a":[1]}', '{"a":[{"b":"c"}]}'),
    ('["c"]', '["a","b"]'),
    ('["c"]', '{"a":"b"}'),
    ('{"a":"foo"}', 'null'),
    ('{"a":"foo"}', '"foo"'),
    ('null', '{"a":"foo"}'),
    ('{"a":{"bb":{"ccc":null}}}', '{}'),
    ('{"title":"Hello!","phoneNumber":"+01-123-456-7890","author":{"familyName":null},"tags":["example"]}',
     '{"title":"Goodbye!","author":{"givenName":"John","familyName":"Doe"},"tags":["example","sample"],"content":"This will be unchanged"}'),
]
JSON_DOCS = [
    '{"user_id":"alice","role":["admin","ops"],"n":42,"ratio":0.5,"ok":true,"none":null}',
    '[1,-0,0.1,1e400,-1e-400,9223372036854775807,-9223372036854775808,9223372036854775808,1E2,1.0]',
    '"\\ud83c\\udf6a \\u2028 \\u0000 \\/ \\" \\\\ \\b\\f\\n\\r\\t"',
    '"\\ud800"', '"\\udc00"', '"\\ud800\\u0041"',
    '{"a":1,"a":2}',
    ' \t\r\n{ "k" : [ ] , "o" : { } } ',
    '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]',
    '01', '1.', '.5', '-', '1e', 'tru', 'nul', '{"a" 1}', '[1,]', '{,}', '"\x01"',
    b'"\xc0\xae"', b'"\xed\xa0\x80"', b'"\xf4\x90\x80\x80"', b'"\xe2\x80\xa8"', '"caf\u00e9 \U0001F36A"',
    '123456789012345678901234567890', '1.7976931348623157e308', '5e-324', '0.1e-7', '1e15', '123456789012345.5',
]

DIRECTIVES_SINGLE = [
    '{"user_id":"alice","role":"admin"}', "null", '["not","object"]', '"string"', "42", "{}",
    "rotate", "destroy, revoke-others", "REVOKE-ALL", " rotate , ,destroy ", "rotate;destroy", "revoke_all",
    "3600", " 60 ", "0", "-5", "1e3", "99999999999999999999999", "60, 120", "", " ",
]


def fields(*parts):
    out = b""
    for index, (header, value) in enumerate(parts):
        if index:
            out += b"\x00"
        out += bytes([header]) + value.encode()
    return out


DIRECTIVES_MULTI = [
    fields((0, '{"a":1}'), (0, '{"a":null}'), (1, "rotate"), (2, "60")),
    fields((0, "null"), (1, "destroy")),
    fields((2, "60"), (2, "120")),
    fields((0, '{"a":1}'), (0, "[1]")),
    fields((1, "rotate"), (1, "bogus")),
    fields((0, '{"x":{"y":{"z":null}}}'), (2, "0030")),
]


def token_seed(eddsa, iat, exp, method, path, sid, data):
    def lp(text):
        raw = text.encode()
        return bytes([len(raw)]) + raw
    return bytes([1 if eddsa else 0]) + struct.pack("<q", iat) + struct.pack("<q", exp) + lp(method) + lp(path) + lp(sid) + data.encode()


TOKENS = [
    token_seed(False, 1700000000, 1700000060, "GET", "/admin/x", "c2lkLWhhbmRsZQ", '{"user_id":"alice","role":["admin","ops"],"n":42,"ratio":0.5,"ok":true,"none":null}'),
    token_seed(True, 1700000000, 1700000060, "POST", "/api/items", "handle", '{"text":"quote \\" backslash \\\\ newline \\n \u00e9 \U0001F36A \\u2028","nested":{"a":[1,2,{"b":null}]}}'),
    token_seed(False, -1, 2**63 - 1, "", "", "", "[1,2,3]"),
    token_seed(True, -(2**63), 0, "M\u00e9thod", "/p\u2028q", "s\"id", "not json \x00 \x1f \x7f"),
    token_seed(False, 0, 0, "GET", "/", "x", '{"big":123456789012345678901234567890,"tiny":5e-324,"neg0":-0.0,"e":1e15}'),
]

RESP = [
    b"+OK\r\n",
    b"-ERR unknown command 'FOO'\r\n",
    b":1000\r\n:-1\r\n:9223372036854775807\r\n",
    b"$5\r\nhello\r\n$0\r\n\r\n$-1\r\n",
    b"*2\r\n$3\r\nfoo\r\n$3\r\nbar\r\n*-1\r\n*0\r\n",
    b"*3\r\n:1\r\n*2\r\n+a\r\n-b\r\n$-1\r\n",
    b"_\r\n,3.14\r\n,inf\r\n,-inf\r\n,nan\r\n#t\r\n#f\r\n",
    b"(3492890328409238509324850943850943825024385\r\n(-1\r\n",
    b"=15\r\ntxt:Some string\r\n!21\r\nSYNTAX invalid syntax\r\n",
    b"%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n",
    b"~3\r\n+a\r\n+b\r\n+c\r\n>3\r\n+message\r\n+chan\r\n$5\r\nhello\r\n",
    b"|1\r\n+key-popularity\r\n*2\r\n$1\r\na\r\n,0.1923\r\n*2\r\n:2039123\r\n:9543892\r\n",
    b"$5\r\nhel\r\n", b"*1\r\n", b"+OK\n", b"$-2\r\n", b":12a\r\n", b"$99999999999\r\n", b"?x\r\n",
    b"*2\r\n*2\r\n*2\r\n*2\r\n*2\r\n*2\r\n*2\r\n*2\r\n*2\r\n*2\r\n:1\r\n",
    b"#x\r\n", b"_x\r\n", b",1e\r\n", b"=3\r\ntxt\r\n",
]

HTTP_HEADS = [
    b"GET /admin/x HTTP/1.1\r\nHost: example.com\r\nCookie: __Host-session=abc; theme=dark\r\n\r\n",
    b"GET /public/..%2fadmin HTTP/1.1\r\nHost: example.com\r\nX-Session-Token: forged\r\nX_Session_Token: forged\r\nx.session.set: {}\r\n\r\n",
    b"POST /api/items HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /api/items HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:  chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello",
    b"GET / HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n b\r\n\r\n",
    b"GET / HTTP/1.1\nHost: a\nX-Bare-LF: 1\n\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX-Nul: a\x00b\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close, X-Session-Token, X-User-Id, keep-alive\r\nX-User-Id: 7\r\n\r\n",
    b"GET http://example.com/admin HTTP/1.1\r\nHost: example.com\r\n\r\n",
    b"GET http://evil.com/admin HTTP/1.1\r\nHost: example.com\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    b"GET / HTTP/1.0\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /upgrade HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX-Session-Token : space\r\n\r\n",
    b"GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n",
    b"G\x00ET / HTTP/1.1\r\n\r\n",
]


NEXT = [
    "/admin/x", "//evil.com", "/\\evil.com", "/%2F%2Fevil.com", "/%2f/evil.com", "/%252F%252Fevil.com",
    "/%5Cevil.com", "/%09/evil.com", "/\t/evil.com", "https://evil.com", "/ok?a=b", "/%", "/%zz", "/caf%C3%A9",
    "/%25252F%25252Fevil.com", "/./%2F/evil", "evil.com", "", "/", "/a\x00b", "/x\x00a=b&next=//evil",
]


def main():
    write("FuzzPath", PATHS)
    write("FuzzLoginRedirect", NEXT)
    write("FuzzCookieOpen", COOKIES)
    write("FuzzCookieHeader", COOKIE_HEADERS + ["session\x00session=a; b=c", "\x00__Host-session=x"])
    write("FuzzJSON", JSON_DOCS + [patch + "\x00" + target for patch, target in RFC7396])
    write("FuzzDirectives", DIRECTIVES_SINGLE + DIRECTIVES_MULTI)
    write("FuzzToken", TOKENS)
    with open(os.path.join(ROOT, "..", "proxy.toml.example")) as handle:
        example = handle.read()
    toml = [
        example,
        "[server]\nlisten = \"127.0.0.1:8080\"\n",
        "[cookie]\nkeys = [\"${SESSIONGATE_KEY}\"]\nname = \"session\"\nsecure = false\n",
        "[[route]]\npath = \"/admin/**\"\naccess = \"session\"\nrequire = { role = [\"admin\", 1, 2.5, true] }\n",
        "[routes]\ndefault = \"deny\"\n[[routes]]\n",
        "a = 1979-05-27T07:32:00Z\nb = 07:32:00\nc = 1979-05-27\n",
        "[server\nlisten = ",
        "x = \"\\uD800\"\n",
        "[store]\nbackend = \"redis\"\nurl = \"redis://:p4ss@127.0.0.1:6379/0\"\ncluster = true\n",
        "[signing]\nalgorithm = \"EdDSA\"\nprivate_key = \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"\n",
        "[inject]\n\"X-Session-Token\" = \"user_id\"\n\"x_user.id\" = \"user_id\"\n\"X-User-Id\" = \"\"\n",
        "[a.b.c]\nd = [[1, 2], [\"x\"], {e = 1}]\n",
    ]
    write("FuzzTOML", toml)
    write("FuzzConfig", [bytes(range(0, 64)), bytes(range(64, 128)), b"\x05\x00\x01\x02\x03", b"\xff" * 40])
    write("FuzzRESP", RESP)
    write("FuzzHTTPHead", HTTP_HEADS)


if __name__ == "__main__":
    sys.exit(main())
