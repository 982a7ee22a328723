// A minimal app behind SessionGate, Go standard library only (Go 1.19+).
//
// It has no session library and never sees the session cookie. It reads the signed
// X-Session-Token header the proxy adds, and answers with X-Session-Set / X-Session-Action.
//
//	GET  /login   a sign-in form (a public route in proxy.toml)
//	POST /login   user=NAME  -> X-Session-Set: {"user_id": NAME}  (remember=on adds X-Session-Lifetime)
//	GET  /        the signed-in user as JSON; counts visits with X-Session-Set
//	POST /logout  -> X-Session-Action: destroy
//	GET  /healthz "ok"
//
// Environment: PORT (3000), LISTEN_HOST (127.0.0.1), SESSIONGATE_SIGNING_SECRET (HS256) or
// SESSIONGATE_JWKS_URL (EdDSA), SESSIONGATE_ISSUER ("sessiongate"), SESSIONGATE_AUDIENCE ("upstream").
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Claims of an X-Session-Token.
type Claims struct {
	Iss  string         `json:"iss"`
	Aud  string         `json:"aud"`
	Iat  int64          `json:"iat"`
	Exp  int64          `json:"exp"`
	Sid  string         `json:"sid"`
	Data map[string]any `json:"data"`
	Htm  string         `json:"htm"`
	Htu  string         `json:"htu"`
}

type verifier struct {
	secret   []byte // HS256: the secret string's UTF-8 bytes
	jwksURL  string // EdDSA: the proxy's admin /.well-known/jwks.json
	issuer   string
	audience string

	mu   sync.Mutex
	keys map[string]ed25519.PublicKey // kid -> key, fetched on first use
}

var b64 = base64.RawURLEncoding

// verify returns the claims when the token is valid for this request: signature (the algorithm
// is fixed here, never taken from the token), iss, aud, exp, and htm/htu = this request.
func (v *verifier) verify(token, method, path string) (*Claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a compact JWS")
	}
	var header struct{ Alg, Kid string }
	headerJSON, err := b64.DecodeString(parts[0])
	if err != nil || json.Unmarshal(headerJSON, &header) != nil {
		return nil, errors.New("bad header")
	}
	signature, err := b64.DecodeString(parts[2])
	if err != nil {
		return nil, errors.New("bad signature encoding")
	}
	signingInput := []byte(parts[0] + "." + parts[1])
	if v.secret != nil {
		mac := hmac.New(sha256.New, v.secret)
		mac.Write(signingInput)
		if header.Alg != "HS256" || !hmac.Equal(signature, mac.Sum(nil)) {
			return nil, errors.New("bad signature")
		}
	} else {
		key, err := v.publicKey(header.Kid)
		if err != nil || header.Alg != "EdDSA" || !ed25519.Verify(key, signingInput, signature) {
			return nil, errors.New("bad signature")
		}
	}
	payload, err := b64.DecodeString(parts[1])
	if err != nil {
		return nil, errors.New("bad payload encoding")
	}
	var claims Claims
	decoder := json.NewDecoder(bytes.NewReader(payload))
	decoder.UseNumber() // keep integers in data exact
	if err := decoder.Decode(&claims); err != nil {
		return nil, errors.New("bad claims")
	}
	const leeway = 5
	switch {
	case claims.Iss != v.issuer || claims.Aud != v.audience:
		return nil, errors.New("wrong issuer or audience")
	case claims.Exp+leeway < time.Now().Unix():
		return nil, errors.New("expired")
	case claims.Sid == "" || claims.Data == nil:
		return nil, errors.New("missing sid or data")
	case claims.Htm != method || claims.Htu != path:
		return nil, errors.New("issued for another request")
	}
	return &claims, nil
}

func (v *verifier) publicKey(kid string) (ed25519.PublicKey, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if key, ok := v.keys[kid]; ok {
		return key, nil
	}
	client := http.Client{Timeout: 5 * time.Second}
	response, err := client.Get(v.jwksURL)
	if err != nil {
		return nil, err
	}
	defer response.Body.Close()
	var set struct {
		Keys []struct{ Kty, Crv, Kid, X string }
	}
	if err := json.NewDecoder(response.Body).Decode(&set); err != nil {
		return nil, err
	}
	v.keys = map[string]ed25519.PublicKey{}
	for _, k := range set.Keys {
		if x, err := b64.DecodeString(k.X); err == nil && k.Kty == "OKP" && k.Crv == "Ed25519" && len(x) == ed25519.PublicKeySize {
			v.keys[k.Kid] = ed25519.PublicKey(x)
		}
	}
	if key, ok := v.keys[kid]; ok {
		return key, nil
	}
	return nil, errors.New("unknown kid")
}

func reply(w http.ResponseWriter, status int, contentType, body string) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

func safeNext(target string) string {
	if strings.HasPrefix(target, "/") && !strings.HasPrefix(target, "//") {
		return target
	}
	return "/"
}

func main() {
	v := &verifier{jwksURL: os.Getenv("SESSIONGATE_JWKS_URL"), issuer: env("SESSIONGATE_ISSUER", "sessiongate"),
		audience: env("SESSIONGATE_AUDIENCE", "upstream")}
	if secret := os.Getenv("SESSIONGATE_SIGNING_SECRET"); secret != "" {
		v.secret = []byte(secret)
	} else if v.jwksURL == "" {
		log.Fatal("set SESSIONGATE_SIGNING_SECRET (HS256) or SESSIONGATE_JWKS_URL (EdDSA)")
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { reply(w, 200, "text/plain", "ok\n") })
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			next := html.EscapeString(safeNext(r.URL.Query().Get("next")))
			reply(w, 200, "text/html", `<!doctype html><title>Sign in</title>
<form method="post" action="/login"><input type="hidden" name="next" value="`+next+`">
<label>User <input name="user" id="user" required></label>
<label><input type="checkbox" name="remember"> Remember me</label>
<button id="signin">Sign in</button></form>`)
		case http.MethodPost:
			r.Body = http.MaxBytesReader(w, r.Body, 16384)
			user := strings.TrimSpace(r.PostFormValue("user"))
			if user == "" {
				reply(w, 400, "text/plain", "user is required\n")
				return
			}
			// Creates the session (the proxy sets the cookie); a new user_id rotates the session id.
			patch, _ := json.Marshal(map[string]string{"user_id": user})
			w.Header().Set("X-Session-Set", string(patch))
			if r.PostFormValue("remember") == "on" {
				w.Header().Set("X-Session-Lifetime", fmt.Sprint(30*86400))
			}
			w.Header().Set("Location", safeNext(r.PostFormValue("next")))
			reply(w, http.StatusSeeOther, "text/plain", "")
		default:
			reply(w, 405, "text/plain", "method not allowed\n")
		}
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			reply(w, 405, "text/plain", "method not allowed\n")
			return
		}
		w.Header().Set("X-Session-Action", "destroy")
		w.Header().Set("Location", "/login")
		reply(w, http.StatusSeeOther, "text/plain", "")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" || r.Method != http.MethodGet {
			reply(w, 404, "text/plain", "not found\n")
			return
		}
		token := r.Header.Get("X-Session-Token")
		claims, err := v.verify(token, r.Method, r.URL.EscapedPath())
		if token == "" || err != nil {
			reply(w, 401, "application/json", `{"error": "unauthenticated"}`)
			return
		}
		visits := int64(1)
		if n, ok := claims.Data["visits"].(json.Number); ok {
			if previous, err := n.Int64(); err == nil {
				visits = previous + 1
			}
		}
		// Write back: an RFC 7396 merge patch, merged atomically into the session.
		patch, _ := json.Marshal(map[string]int64{"visits": visits})
		w.Header().Set("X-Session-Set", string(patch))
		body, _ := json.Marshal(map[string]any{"user": claims.Data["user_id"], "visits": visits, "sid": claims.Sid})
		reply(w, 200, "application/json", string(body))
	})

	address := net.JoinHostPort(env("LISTEN_HOST", "127.0.0.1"), env("PORT", "3000"))
	log.Printf("listening on http://%s", address)
	log.Fatal(http.ListenAndServe(address, mux))
}

func env(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}
