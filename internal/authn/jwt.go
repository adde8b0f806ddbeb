package authn

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"os"
	"strings"
)

// A compact JWS (RFC 7515) signer and verifier for service-account tokens:
// RS256 for RSA keys, ES256/ES384/ES512 for ECDSA keys, the algorithms
// kube-apiserver signs with.

type jwsHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid,omitempty"`
	Typ string `json:"typ,omitempty"`
}

// Signer signs tokens with --service-account-signing-key-file.
type Signer struct {
	key crypto.Signer
	alg string
	kid string
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
	return &Signer{key: s, alg: alg, kid: kid}, nil
}

func algFor(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return "RS256", nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return "ES256", nil
		case elliptic.P384():
			return "ES384", nil
		case elliptic.P521():
			return "ES512", nil
		}
	}
	return "", fmt.Errorf("unsupported key type %T", pub)
}

func hashFor(alg string) (crypto.Hash, func() hash.Hash, int) {
	switch alg {
	case "RS256", "ES256":
		return crypto.SHA256, sha256.New, 32
	case "ES384":
		return crypto.SHA384, sha512.New384, 48
	case "ES512":
		return crypto.SHA512, sha512.New, 66
	}
	return 0, nil, 0
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

var b64 = base64.RawURLEncoding

// Sign returns the compact JWS of claims.
func (s *Signer) Sign(claims any) (string, error) {
	h, _ := json.Marshal(jwsHeader{Alg: s.alg, Kid: s.kid})
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	hh, newHash, size := hashFor(s.alg)
	d := newHash()
	d.Write([]byte(input))
	sum := d.Sum(nil)
	var sig []byte
	switch k := s.key.(type) {
	case *rsa.PrivateKey:
		if sig, err = rsa.SignPKCS1v15(rand.Reader, k, hh, sum); err != nil {
			return "", err
		}
	case *ecdsa.PrivateKey:
		r, ss, err := ecdsa.Sign(rand.Reader, k, sum)
		if err != nil {
			return "", err
		}
		sig = make([]byte, 2*size)
		r.FillBytes(sig[:size])
		ss.FillBytes(sig[size:])
	default:
		return "", fmt.Errorf("unsupported key %T", s.key)
	}
	return input + "." + b64.EncodeToString(sig), nil
}

// errNotJWT: the bearer token is not a JWS at all (it may be a static
// token); errBadSignature: no key verifies it.
var (
	errNotJWT       = errors.New("not a JWT")
	errBadSignature = errors.New("invalid signature")
)

// verifyJWT checks the signature of token against keys and decodes its
// claims into out.
func verifyJWT(token string, keys []crypto.PublicKey, out any) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errNotJWT
	}
	hb, err := b64.DecodeString(parts[0])
	if err != nil {
		return errNotJWT
	}
	var h jwsHeader
	if err := json.Unmarshal(hb, &h); err != nil || h.Alg == "" {
		return errNotJWT
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return fmt.Errorf("malformed signature: %w", err)
	}
	hh, newHash, size := hashFor(h.Alg)
	if newHash == nil {
		return fmt.Errorf("unsupported algorithm %q", h.Alg)
	}
	d := newHash()
	d.Write([]byte(parts[0] + "." + parts[1]))
	sum := d.Sum(nil)
	ok := false
	for _, k := range keys {
		switch pk := k.(type) {
		case *rsa.PublicKey:
			ok = h.Alg == "RS256" && rsa.VerifyPKCS1v15(pk, hh, sum, sig) == nil
		case *ecdsa.PublicKey:
			if alg, _ := algFor(pk); alg == h.Alg && len(sig) == 2*size {
				r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
				ok = ecdsa.Verify(pk, sum, r, s)
			}
		}
		if ok {
			break
		}
	}
	if !ok {
		return errBadSignature
	}
	cb, err := b64.DecodeString(parts[1])
	if err != nil {
		return fmt.Errorf("malformed claims: %w", err)
	}
	if err := json.Unmarshal(cb, out); err != nil {
		return fmt.Errorf("malformed claims: %w", err)
	}
	return nil
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
