// Package x509metrics finds webhook servers whose serving certificates
// have what Go no longer accepts, as kube-apiserver's
// k8s.io/apiserver/pkg/util/x509metrics does for every webhook it calls
// (admission, conversion, authentication, authorization, image policy):
// a certificate without the SAN extension, which names its host only in
// the legacy Common Name, and one signed with SHA-1. Go refuses both in
// the TLS handshake, so a call fails; each such failure is counted in
// kube's apiserver_webhooks_x509_missing_san_total and
// apiserver_webhooks_x509_insecure_sha1_total, logged, and annotated on
// the request's audit event (missing-san.invalid-cert.kubernetes.io/<host>,
// insecure-sha1.invalid-cert.kubernetes.io/<host>), so that an operator
// sees why a webhook cannot be reached. A certificate that gets through
// (a process run with GODEBUG=x509ignoreCN=0 or x509sha1=1) is counted
// too, as kube's does.
//
// kube's package counts into its own counters, which it does not export
// and which record nothing in kapi's audit; this is the same check.
package x509metrics

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/klog/v2"

	"kapi/internal/audit"
	"kapi/internal/metrics"
)

var (
	missingSAN = plainCounter("apiserver_webhooks_x509_missing_san_total", "[BETA] Counts the number of requests to servers missing SAN extension "+
		"in their serving certificate OR the number of connection failures "+
		"due to the lack of x509 certificate SAN extension missing "+
		"(either/or, based on the runtime environment)")
	insecureSHA1 = plainCounter("apiserver_webhooks_x509_insecure_sha1_total", "[BETA] Counts the number of requests to servers with insecure SHA1 signatures "+
		"in their serving certificate OR the number of connection failures "+
		"due to the insecure SHA1 signatures (either/or, based on the runtime environment)")
)

func plainCounter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	metrics.Registry.MustRegister(c)
	return c
}

// check is one deprecated property of a serving certificate.
type check struct {
	counter prometheus.Counter
	id      string // the audit annotation's prefix
	reason  string
	// failed tells an error of a call that the property caused; found,
	// the property in the certificates a server presented.
	failed func(error) bool
	found  func([]*x509.Certificate) bool
}

var checks = []check{
	{missingSAN, "missing-san", "relies on a legacy Common Name field instead of the SAN extension for subject validation",
		func(err error) bool {
			var he x509.HostnameError
			return errors.As(err, &he) && strings.Contains(err.Error(), "x509: certificate relies on legacy Common Name field")
		},
		func(certs []*x509.Certificate) bool { return len(certs) > 0 && !hasSAN(certs[0]) }},
	{insecureSHA1, "insecure-sha1", "uses an insecure SHA-1 signature",
		func(err error) bool {
			var ue x509.UnknownAuthorityError
			if !errors.As(err, &ue) {
				return false
			}
			msg := err.Error()
			i := strings.Index(msg, "x509: cannot verify signature: insecure algorithm")
			return i >= 0 && strings.Contains(msg[i:], "SHA1")
		},
		func(certs []*x509.Certificate) bool {
			for _, c := range certs {
				// Self-signed roots are not part of the deprecation.
				if (c.SignatureAlgorithm == x509.SHA1WithRSA || c.SignatureAlgorithm == x509.ECDSAWithSHA1) && !reflect.DeepEqual(c.Issuer, c.Subject) {
					return true
				}
			}
			return false
		}},
}

func hasSAN(c *x509.Certificate) bool {
	for _, e := range c.Extensions {
		if e.Id.Equal([]int{2, 5, 29, 17}) {
			return true
		}
	}
	return false
}

// Wrap checks the calls made through rt. It is also a transport wrapper
// for client-go's rest.Config.Wrap.
func Wrap(rt http.RoundTripper) http.RoundTripper { return &roundTripper{rt} }

type roundTripper struct{ rt http.RoundTripper }

func (w *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := w.rt.RoundTrip(req)
	for _, c := range checks {
		if (err != nil && c.failed(err)) || (err == nil && resp != nil && resp.TLS != nil && c.found(resp.TLS.PeerCertificates)) {
			c.raise(req)
		}
	}
	return resp, err
}

// CloseIdleConnections closes the wrapped transport's.
func (w *roundTripper) CloseIdleConnections() {
	if c, ok := w.rt.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// WrappedRoundTripper is the transport checked (client-go's
// RoundTripperWrapper).
func (w *roundTripper) WrappedRoundTripper() http.RoundTripper { return w.rt }

func (c check) raise(req *http.Request) {
	if host := req.URL.Hostname(); host != "" {
		prefix := fmt.Sprintf("%s.invalid-cert.kubernetes.io", c.id)
		klog.Infof("%s: invalid certificate detected connecting to %q: %s", prefix, host, c.reason)
		audit.AddAnnotation(req.Context(), prefix+"/"+host, c.reason)
	}
	c.counter.Inc()
}
