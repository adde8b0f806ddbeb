package authn

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Service-account tokens are compact JWS (RFC 7515) signed and verified
// by github.com/go-jose/go-jose/v4: RS256 for RSA keys, ES256/ES384/ES512
// for ECDSA keys, the algorithms kube-apiserver signs with, and its key id
// in the header.

// jwsAlgorithms are the algorithms a token may be signed with.
var jwsAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.ES384, jose.ES512}

// TokenSigner signs service-account tokens: a key kapi holds (Signer),
// or kube's external signer (ExternalSigner).
type TokenSigner interface {
	// Sign returns the compact JWS of claims.
	Sign(ctx context.Context, claims any) (string, error)
}

// Signer signs tokens with --service-account-signing-key-file.
type Signer struct {
	signer jose.Signer
}

// NewSigner returns a signer for an RSA or ECDSA private key.
func NewSigner(key crypto.PrivateKey) (*Signer, error) {
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, errors.New("the signing key cannot sign")
	}
	alg, err := algFor(s.Public())
	if err != nil {
		return nil, err
	}
	kid, err := KeyID(s.Public())
	if err != nil {
		return nil, err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
	if err != nil {
		return nil, err
	}
	return &Signer{signer: signer}, nil
}

func algFor(pub crypto.PublicKey) (jose.SignatureAlgorithm, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return jose.RS256, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return jose.ES256, nil
		case elliptic.P384():
			return jose.ES384, nil
		case elliptic.P521():
			return jose.ES512, nil
		}
	}
	return "", fmt.Errorf("unsupported key type %T", pub)
}

// KeyID is kube-apiserver's key id: the unpadded base64url SHA-256 of the
// public key's DER encoding.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// Sign returns the compact JWS of claims.
func (s *Signer) Sign(_ context.Context, claims any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := s.signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// KeySet is the keys service-account tokens are verified with.
type KeySet interface {
	// For returns the keys that may have signed a token of key id kid
	// ("": a token without one).
	For(ctx context.Context, kid string) []crypto.PublicKey
	// Published returns the keys the issuer's discovery documents list.
	Published() []PublicKey
	// MaxAge is how long a client may cache the published keys (kube's
	// GetCacheAgeMaxSeconds).
	MaxAge() time.Duration
	// OnChange calls f, in a goroutine of its own, whenever the keys
	// change (kube's AddListener).
	OnChange(f func())
}

// PublicKey is a verification key under its key id.
type PublicKey struct {
	ID  string
	Key crypto.PublicKey
}

// StaticKeys are keys read from files (--service-account-key-file): a
// token of any key id is tried with each, and each is published under
// kube's key id (KeyID).
type StaticKeys []crypto.PublicKey

// For returns every key.
func (s StaticKeys) For(context.Context, string) []crypto.PublicKey { return s }

// MaxAge is an hour, as kube's static keys answer.
func (StaticKeys) MaxAge() time.Duration { return time.Hour }

// OnChange does nothing: the files' keys are read once.
func (StaticKeys) OnChange(func()) {}

// Published returns the keys under their key ids, each once.
func (s StaticKeys) Published() []PublicKey {
	var out []PublicKey
	seen := map[string]bool{}
	for _, k := range s {
		kid, err := KeyID(k)
		if err != nil || seen[kid] {
			continue
		}
		seen[kid] = true
		out = append(out, PublicKey{ID: kid, Key: k})
	}
	return out
}

// errNotJWT: the bearer token is not a JWS at all (it may be a static
// token); errBadSignature: no key verifies it.
var (
	errNotJWT       = errors.New("not a JWT")
	errBadSignature = errors.New("invalid signature")
)

// verifyJWT checks the signature of token against the keys of its key
// id (the header's kid, "" without one) and decodes its claims into out.
func verifyJWT(ctx context.Context, token string, keys KeySet, out any) error {
	if !looksLikeJWS(token) {
		return errNotJWT
	}
	jws, err := jose.ParseSigned(token, jwsAlgorithms)
	if err != nil {
		return fmt.Errorf("malformed token: %w", err)
	}
	kid := ""
	for _, sig := range jws.Signatures {
		if sig.Header.KeyID != "" {
			kid = sig.Header.KeyID
			break
		}
	}
	var payload []byte
	for _, k := range keys.For(ctx, kid) {
		if payload, err = jws.Verify(k); err == nil {
			break
		}
	}
	if payload == nil {
		return errBadSignature
	}
	if err := json.Unmarshal(payload, out); err != nil {
		return fmt.Errorf("malformed claims: %w", err)
	}
	return nil
}

// looksLikeJWS: three base64url parts, the first a JSON header naming an
// algorithm. Anything else is some other kind of bearer token.
func looksLikeJWS(token string) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return false
	}
	var h struct {
		Alg string `json:"alg"`
	}
	return json.Unmarshal(hb, &h) == nil && h.Alg != ""
}

// ReadPrivateKey reads an RSA or ECDSA private key from a PEM file.
func ReadPrivateKey(path string) (crypto.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		switch block.Type {
		case "RSA PRIVATE KEY":
			return x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			return x509.ParseECPrivateKey(block.Bytes)
		case "PRIVATE KEY":
			return x509.ParsePKCS8PrivateKey(block.Bytes)
		}
	}
	return nil, fmt.Errorf("%s holds no private key", path)
}

// ReadPublicKeys reads the public keys of a PEM file: public keys,
// certificates, or private keys (whose public halves are taken), as
// --service-account-key-file accepts.
func ReadPublicKeys(path string) ([]crypto.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var keys []crypto.PublicKey
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		var k crypto.PublicKey
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			k, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			k, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(block.Bytes); err == nil {
				k = c.PublicKey
			}
		case "RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY":
			var pk crypto.PrivateKey
			switch block.Type {
			case "RSA PRIVATE KEY":
				pk, err = x509.ParsePKCS1PrivateKey(block.Bytes)
			case "EC PRIVATE KEY":
				pk, err = x509.ParseECPrivateKey(block.Bytes)
			default:
				pk, err = x509.ParsePKCS8PrivateKey(block.Bytes)
			}
			if s, ok := pk.(crypto.Signer); ok && err == nil {
				k = s.Public()
			}
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if k != nil {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s holds no public key", path)
	}
	return keys, nil
}
