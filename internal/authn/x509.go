package authn

import (
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"net/http"
	"sync"
	"time"

	"kapi/internal/request"
)

// X509 authenticates a client certificate signed by one of the trusted
// CAs (the kapi CA and --client-ca-file): the common name is the user,
// the organisations are the groups. The TLS handshake only asks for the
// certificate; it is verified here, so that a certificate from another CA
// is a 401 Status rather than a failed handshake, as kube-apiserver does.
//
// Verifying a chain costs a signature check (ECDSA: about a third of a
// cheap GET), so a verified chain is remembered until its leaf expires.
type X509 struct {
	Roots *x509.CertPool

	mu       sync.Mutex
	verified map[[32]byte]verifiedChain
}

type verifiedChain struct {
	user     request.User
	notAfter time.Time
}

// maxVerified bounds the memory of verified chains.
const maxVerified = 4096

// AuthenticateRequest implements Authenticator.
func (a *X509) AuthenticateRequest(r *http.Request) (*request.User, bool, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil, false, nil
	}
	certs := r.TLS.PeerCertificates
	h := sha256.New()
	for _, c := range certs {
		h.Write(c.Raw)
	}
	var key [32]byte
	h.Sum(key[:0])
	a.mu.Lock()
	v, ok := a.verified[key]
	a.mu.Unlock()
	if ok && time.Now().Before(v.notAfter) {
		u := v.user
		u.Groups = append([]string(nil), v.user.Groups...)
		return &u, true, nil
	}
	u, err := a.verify(certs)
	if err != nil {
		return nil, false, err
	}
	a.mu.Lock()
	if a.verified == nil || len(a.verified) >= maxVerified {
		a.verified = map[[32]byte]verifiedChain{}
	}
	a.verified[key] = verifiedChain{user: *u, notAfter: certs[0].NotAfter}
	a.mu.Unlock()
	cp := *u
	cp.Groups = append([]string(nil), u.Groups...)
	return &cp, true, nil
}

// verify checks the chain against the roots and reads the user.
func (a *X509) verify(certs []*x509.Certificate) (*request.User, error) {
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{
		Roots:         a.Roots,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, fmt.Errorf("verifying certificate %s: %w", certDescription(certs[0]), err)
	}
	leaf := certs[0]
	if leaf.Subject.CommonName == "" {
		return nil, fmt.Errorf("certificate %s has no common name", certDescription(leaf))
	}
	return &request.User{Name: leaf.Subject.CommonName, Groups: append([]string(nil), leaf.Subject.Organization...)}, nil
}

func certDescription(c *x509.Certificate) string {
	return fmt.Sprintf("SN=%s, CN=%s, issuer=%q", c.SerialNumber, c.Subject.CommonName, c.Issuer.String())
}
