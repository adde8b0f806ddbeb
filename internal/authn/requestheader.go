package authn

import (
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"kapi/internal/request"
)

// RequestHeader authenticates requests from a front proxy (an API server
// aggregating kapi, or an authenticating proxy): a request whose client
// certificate the request-header CA signed, with a common name among
// AllowedNames (any when empty), is the user the proxy names in headers.
// It is kube-apiserver's --requestheader-* authenticator
// (k8s.io/apiserver pkg/authentication/request/headerrequest behind an
// x509 verifier), and comes before the X509 authenticator in the union,
// so that a front-proxy certificate never authenticates as its own
// common name.
//
// The headers: the user is the first non-empty of UsernameHeaders, the
// UID the first non-empty of UIDHeaders, the groups every non-empty value
// of GroupHeaders, and each header starting with one of ExtraPrefixes an
// extra, its key the rest of the name lower-cased and %-unescaped
// ("X-Remote-Extra-Acme.com%2Fproject: a" is extra "acme.com/project").
// Once believed, these headers are removed from the request, so that
// nothing after authentication reads them again.
//
// A certificate the CA did not sign, a common name not allowed, or no
// user header is "not mine": kube's union then asks the other
// authenticators, and kapi's x509 authenticator refuses a certificate of
// a CA it does not trust, which gives the same 401.
type RequestHeader struct {
	// Roots is the request-header CA, asked at each verification so that
	// a rotated CA file is used (CAFile.Pool).
	Roots           func() *x509.CertPool
	AllowedNames    []string
	UsernameHeaders []string
	UIDHeaders      []string
	GroupHeaders    []string
	ExtraPrefixes   []string

	mu       sync.Mutex
	verified map[[32]byte]verdict
}

// verdict remembers whether a chain verified against a pool, until its
// leaf expires.
type verdict struct {
	ok       bool
	notAfter time.Time
	pool     *x509.CertPool
}

// NewRequestHeader checks the header names as kube does (blank ones are
// an error, with kube's message) and trims them.
func NewRequestHeader(roots func() *x509.CertPool, allowedNames, username, uid, group, extraPrefixes []string) (*RequestHeader, error) {
	a := &RequestHeader{Roots: roots, AllowedNames: allowedNames}
	for _, h := range []struct {
		flag string
		in   []string
		out  *[]string
	}{
		{"requestheader-username-headers", username, &a.UsernameHeaders},
		{"requestheader-uid-headers", uid, &a.UIDHeaders},
		{"requestheader-group-headers", group, &a.GroupHeaders},
		{"requestheader-extra-headers-prefix", extraPrefixes, &a.ExtraPrefixes},
	} {
		for _, name := range h.in {
			t := strings.TrimSpace(name)
			if t == "" {
				return nil, fmt.Errorf("empty value in %q", h.flag)
			}
			*h.out = append(*h.out, t)
		}
	}
	return a, nil
}

// AuthenticateRequest implements Authenticator.
func (a *RequestHeader) AuthenticateRequest(r *http.Request) (*request.User, bool, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || !a.trusted(r.TLS.PeerCertificates) {
		return nil, false, nil
	}
	name := firstValue(r.Header, a.UsernameHeaders)
	if name == "" {
		return nil, false, nil
	}
	u := &request.User{
		Name:   name,
		UID:    firstValue(r.Header, a.UIDHeaders),
		Groups: allValues(r.Header, a.GroupHeaders),
		Extra:  extra(r.Header, a.ExtraPrefixes),
	}
	a.clear(r.Header)
	return u, true, nil
}

// trusted verifies the chain against the request-header CA and the
// common name against AllowedNames. The verdict is remembered (bounded,
// until the leaf expires, for the pool it was verified against): every
// request of an ordinary client certificate asks here first.
func (a *RequestHeader) trusted(certs []*x509.Certificate) bool {
	h := sha256.New()
	for _, c := range certs {
		h.Write(c.Raw)
	}
	var key [32]byte
	h.Sum(key[:0])
	var pool *x509.CertPool
	if a.Roots != nil {
		pool = a.Roots()
	}
	a.mu.Lock()
	v, ok := a.verified[key]
	a.mu.Unlock()
	if ok && v.pool == pool && time.Now().Before(v.notAfter) {
		return v.ok
	}
	v = verdict{ok: a.verify(pool, certs), notAfter: certs[0].NotAfter, pool: pool}
	a.mu.Lock()
	if a.verified == nil || len(a.verified) >= maxVerified {
		a.verified = map[[32]byte]verdict{}
	}
	a.verified[key] = v
	a.mu.Unlock()
	return v.ok
}

func (a *RequestHeader) verify(roots *x509.CertPool, certs []*x509.Certificate) bool {
	if roots == nil {
		return false
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		return false
	}
	return len(a.AllowedNames) == 0 || slices.Contains(a.AllowedNames, certs[0].Subject.CommonName)
}

// clear removes the headers the user came in, as kube's
// ClearAuthenticationHeaders.
func (a *RequestHeader) clear(h http.Header) {
	clearHeaders(h, [][]string{a.UsernameHeaders, a.UIDHeaders, a.GroupHeaders}, a.ExtraPrefixes)
}

// ClearHeaders implements HeaderClearer: the configured headers go from
// every authenticated request, whoever authenticated it.
func (a *RequestHeader) ClearHeaders(h http.Header) { a.clear(h) }

// HeaderClearer is an authenticator whose headers must not outlive
// authentication.
type HeaderClearer interface {
	ClearHeaders(h http.Header)
}

// ClearHeaders removes, as kube's authentication filter does after any
// successful authentication, kube's standard front-proxy headers
// (X-Remote-User, X-Remote-Uid, X-Remote-Group, X-Remote-Extra-*) and
// those of each request-header authenticator of the union: what comes
// after (a proxy to a service or an aggregated API server) never passes
// on a client's claim to be someone.
func (un Union) ClearHeaders(h http.Header) {
	clearHeaders(h, [][]string{{"X-Remote-User"}, {"X-Remote-Uid"}, {"X-Remote-Group"}}, []string{"X-Remote-Extra-"})
	for _, a := range un {
		if c, ok := a.(HeaderClearer); ok {
			c.ClearHeaders(h)
		}
	}
}

func clearHeaders(h http.Header, names [][]string, prefixes []string) {
	for _, list := range names {
		for _, n := range list {
			h.Del(n)
		}
	}
	for k := range h {
		if hasAnyPrefix(k, prefixes) {
			delete(h, k) // the raw key: no reliance on canonical spelling
		}
	}
}

func firstValue(h http.Header, names []string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}

func allValues(h http.Header, names []string) []string {
	out := []string{}
	for _, n := range names {
		for _, v := range h[http.CanonicalHeaderKey(n)] {
			if v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// extra reads the extras prefix by prefix, so that values keep the
// prefixes' order as in kube.
func extra(h http.Header, prefixes []string) map[string][]string {
	out := map[string][]string{}
	for _, p := range prefixes {
		for k, vs := range h {
			if !hasPrefixFold(k, p) {
				continue
			}
			key := strings.ToLower(k[len(p):])
			if unescaped, err := url.PathUnescape(key); err == nil {
				key = unescaped
			}
			out[key] = append(out[key], vs...)
		}
	}
	return out
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if hasPrefixFold(s, p) {
			return true
		}
	}
	return false
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
