package authn

import (
	"crypto/x509"
	"fmt"
	"net/http"

	"kapi/internal/request"
)

// X509 authenticates a client certificate signed by one of the trusted
// CAs (the kapi CA and --client-ca-file): the common name is the user,
// the organisations are the groups. The TLS handshake only asks for the
// certificate; it is verified here, so that a certificate from another CA
// is a 401 Status rather than a failed handshake, as kube-apiserver does.
type X509 struct {
	Roots *x509.CertPool
}

// AuthenticateRequest implements Authenticator.
func (a X509) AuthenticateRequest(r *http.Request) (*request.User, bool, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil, false, nil
	}
	certs := r.TLS.PeerCertificates
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
		return nil, false, fmt.Errorf("verifying certificate %s: %w", certDescription(certs[0]), err)
	}
	leaf := certs[0]
	if leaf.Subject.CommonName == "" {
		return nil, false, fmt.Errorf("certificate %s has no common name", certDescription(leaf))
	}
	return &request.User{Name: leaf.Subject.CommonName, Groups: append([]string(nil), leaf.Subject.Organization...)}, true, nil
}

func certDescription(c *x509.Certificate) string {
	return fmt.Sprintf("SN=%s, CN=%s, issuer=%q", c.SerialNumber, c.Subject.CommonName, c.Issuer.String())
}
