package authn

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	kubeasn1 "k8s.io/apimachinery/pkg/apis/asn1"

	"kapi/internal/metrics"
	"kapi/internal/request"
)

// clientCertExpiration is kube's apiserver_client_certificate_expiration_seconds
// (k8s.io/apiserver's x509 authenticator), which kube-prometheus'
// KubeClientCertificateExpiration alert reads: the remaining lifetime of
// each request's client certificate, observed before it is verified, as
// kube's (a certificate of another CA, or expired, counts too).
var clientCertExpiration = metrics.Histogram("apiserver_client_certificate_expiration_seconds",
	"[ALPHA] Distribution of the remaining lifetime on the certificate used to authenticate a request.",
	[]float64{0, 1800, 3600, 7200, 21600, 43200, 86400, 172800, 345600, 604800, 2592000, 7776000, 15552000, 31104000},
).WithLabelValues()

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
	user     *request.User
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
	clientCertExpiration.Observe(time.Until(certs[0].NotAfter).Seconds())
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
		return copyUser(v.user), true, nil
	}
	u, err := a.verify(certs)
	if err != nil || u == nil {
		return nil, false, err
	}
	a.mu.Lock()
	if a.verified == nil || len(a.verified) >= maxVerified {
		a.verified = map[[32]byte]verifiedChain{}
	}
	a.verified[key] = verifiedChain{user: u, notAfter: certs[0].NotAfter}
	a.mu.Unlock()
	return copyUser(u), true, nil
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
		// Names no user: the request is another authenticator's, or
		// anonymous, as in kube.
		return nil, nil
	}
	uid, err := certUID(leaf)
	if err != nil {
		return nil, err
	}
	fp := sha256.Sum256(leaf.Raw)
	return &request.User{Name: leaf.Subject.CommonName, UID: uid, Groups: append([]string(nil), leaf.Subject.Organization...),
		Extra: map[string][]string{"authentication.kubernetes.io/credential-id": {"X509SHA256=" + hex.EncodeToString(fp[:])}}}, nil
}

// certUID is the user's uid a certificate's subject may carry, as kube
// 1.37 reads it (AllowParsingUserUIDFromCertAuth, on by default): the
// attribute 1.3.6.1.4.1.57683.2, at most once, not empty.
func certUID(c *x509.Certificate) (string, error) {
	var uids []string
	for _, name := range c.Subject.Names {
		if !name.Type.Equal(uidOID) {
			continue
		}
		uid, ok := name.Value.(string)
		if !ok {
			return "", fmt.Errorf("unable to parse UID into a string")
		}
		uids = append(uids, uid)
	}
	switch {
	case len(uids) == 0:
		return "", nil
	case len(uids) != 1:
		return "", fmt.Errorf("expected 1 UID, but found multiple: %v", uids)
	case uids[0] == "":
		return "", errors.New("UID cannot be an empty string")
	}
	return uids[0], nil
}

var uidOID = kubeasn1.X509UID()

func certDescription(c *x509.Certificate) string {
	return fmt.Sprintf("SN=%s, CN=%s, issuer=%q", c.SerialNumber, c.Subject.CommonName, c.Issuer.String())
}

// copyUser is the remembered user for one request, which may change its
// copy's groups or extra, never the remembered one.
func copyUser(u *request.User) *request.User {
	cp := *u
	cp.Groups = append([]string(nil), u.Groups...)
	if u.Extra != nil {
		cp.Extra = make(map[string][]string, len(u.Extra))
		for k, v := range u.Extra {
			cp.Extra[k] = append([]string(nil), v...)
		}
	}
	return &cp
}
