#!/usr/bin/env node
// A minimal app behind SessionGate, Node.js standard library only (Node 18+).
//
// It has no session library and never sees the session cookie. It reads the signed
// X-Session-Token header the proxy adds, and answers with X-Session-Set / X-Session-Action.
//
//   GET  /login   a sign-in form (a public route in proxy.toml)
//   POST /login   user=NAME  -> X-Session-Set: {"user_id": NAME}  (remember=on adds X-Session-Lifetime)
//   GET  /        the signed-in user as JSON; counts visits with X-Session-Set
//   POST /logout  -> X-Session-Action: destroy
//   GET  /healthz "ok"
//
// Environment: PORT (3000), LISTEN_HOST (127.0.0.1), SESSIONGATE_SIGNING_SECRET (HS256) or
// SESSIONGATE_JWKS_URL (EdDSA), SESSIONGATE_ISSUER ("sessiongate"), SESSIONGATE_AUDIENCE ("upstream").
'use strict';
const crypto = require('node:crypto');
const http = require('node:http');

const ISSUER = process.env.SESSIONGATE_ISSUER || 'sessiongate';
const AUDIENCE = process.env.SESSIONGATE_AUDIENCE || 'upstream';
const SECRET = process.env.SESSIONGATE_SIGNING_SECRET;
const JWKS_URL = process.env.SESSIONGATE_JWKS_URL;
if (!SECRET && !JWKS_URL) {
  console.error('set SESSIONGATE_SIGNING_SECRET (HS256) or SESSIONGATE_JWKS_URL (EdDSA)');
  process.exit(1);
}

let publicKeys = null; // kid -> KeyObject, fetched from the JWKS on first use

async function ed25519Key(kid) {
  if (!publicKeys || !publicKeys.has(kid)) {
    const response = await fetch(JWKS_URL, { signal: AbortSignal.timeout(5000) });
    const { keys } = await response.json();
    publicKeys = new Map(keys.filter((k) => k.kty === 'OKP' && k.crv === 'Ed25519')
      .map((k) => [k.kid, crypto.createPublicKey({ key: k, format: 'jwk' })]));
  }
  return publicKeys.get(kid);
}

// The verified claims, or null: signature (the algorithm is fixed here, never taken from the
// token), iss, aud, exp, and htm/htu = this request, so a leaked token cannot be replayed elsewhere.
async function verifySessionToken(token, method, path) {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [encodedHeader, encodedPayload, encodedSignature] = parts;
  let header, claims;
  try {
    header = JSON.parse(Buffer.from(encodedHeader, 'base64url'));
    claims = JSON.parse(Buffer.from(encodedPayload, 'base64url'));
  } catch {
    return null;
  }
  const signingInput = Buffer.from(`${encodedHeader}.${encodedPayload}`);
  const signature = Buffer.from(encodedSignature, 'base64url');
  if (SECRET) {
    if (header.alg !== 'HS256') return null;
    // The key is the secret string's UTF-8 bytes, exactly as configured in [signing] secret.
    const expected = crypto.createHmac('sha256', SECRET).update(signingInput).digest();
    if (signature.length !== expected.length || !crypto.timingSafeEqual(signature, expected)) return null;
  } else {
    if (header.alg !== 'EdDSA') return null;
    const key = await ed25519Key(header.kid).catch(() => undefined);
    if (!key || !crypto.verify(null, signingInput, key, signature)) return null;
  }
  const now = Math.floor(Date.now() / 1000);
  const leeway = 5;
  if (claims.iss !== ISSUER || claims.aud !== AUDIENCE) return null;
  if (typeof claims.exp !== 'number' || claims.exp + leeway < now) return null;
  if (typeof claims.sid !== 'string' || typeof claims.data !== 'object' || claims.data === null) return null;
  if (claims.htm !== method || claims.htu !== path) return null;
  return claims;
}

function reply(res, status, type, body, headers = {}) {
  res.writeHead(status, {
    'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', ...headers,
  });
  res.end(body);
}

function safeNext(target) {
  return typeof target === 'string' && target.startsWith('/') && !target.startsWith('//') ? target : '/';
}

const escapeHTML = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function handle(req, res) {
  const url = new URL(req.url, 'http://app.invalid');
  const route = `${req.method} ${url.pathname}`;
  if (route === 'GET /healthz') return reply(res, 200, 'text/plain', 'ok\n');
  if (route === 'GET /login') {
    const next = escapeHTML(safeNext(url.searchParams.get('next')));
    return reply(res, 200, 'text/html', `<!doctype html><title>Sign in</title>
<form method="post" action="/login"><input type="hidden" name="next" value="${next}">
<label>User <input name="user" id="user" required></label>
<label><input type="checkbox" name="remember"> Remember me</label>
<button id="signin">Sign in</button></form>`);
  }
  if (route === 'GET /') {
    const token = req.headers['x-session-token'];
    // htu is the path as the proxy forwarded it (raw, without the query).
    const claims = token ? await verifySessionToken(token, req.method, req.url.split('?')[0]) : null;
    if (!claims) return reply(res, 401, 'application/json', '{"error": "unauthenticated"}');
    const visits = (Number.isInteger(claims.data.visits) ? claims.data.visits : 0) + 1;
    const body = JSON.stringify({ user: claims.data.user_id, visits, sid: claims.sid });
    // Write back: an RFC 7396 merge patch, merged atomically into the session.
    return reply(res, 200, 'application/json', body, { 'X-Session-Set': JSON.stringify({ visits }) });
  }
  if (req.method === 'POST' && (url.pathname === '/login' || url.pathname === '/logout')) {
    let raw = '';
    for await (const chunk of req) {
      raw += chunk;
      if (raw.length > 16384) return reply(res, 413, 'text/plain', 'too large\n');
    }
    const form = new URLSearchParams(raw);
    if (url.pathname === '/logout') {
      return reply(res, 303, 'text/plain', '', { 'X-Session-Action': 'destroy', Location: '/login' });
    }
    const user = (form.get('user') || '').trim();
    if (!user) return reply(res, 400, 'text/plain', 'user is required\n');
    // Creates the session (the proxy sets the cookie); a new user_id rotates the session id.
    const headers = { 'X-Session-Set': JSON.stringify({ user_id: user }), Location: safeNext(form.get('next')) };
    if (form.get('remember') === 'on') headers['X-Session-Lifetime'] = String(30 * 86400);
    return reply(res, 303, 'text/plain', '', headers);
  }
  reply(res, 404, 'text/plain', 'not found\n');
}

const host = process.env.LISTEN_HOST || '127.0.0.1';
const port = Number(process.env.PORT || 3000);
http.createServer((req, res) => {
  handle(req, res).catch(() => reply(res, 500, 'text/plain', 'internal error\n'));
}).listen(port, host, () => console.log(`listening on http://${host}:${port}`));
