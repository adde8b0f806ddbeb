package authn

import (
	"crypto/tls"
	"crypto/x509"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	kubex509 "k8s.io/apiserver/pkg/authentication/request/x509"
	"k8s.io/component-base/metrics/legacyregistry"

	"kapi/internal/metrics"
)

// TestClientCertificateExpirationMetric: apiserver_client_certificate_expiration_seconds
// is kube's: the same help, type and buckets, and the same observations
// for the same requests (a certificate good for an hour, twice: the
// second from kapi's cache of verified chains; one of another CA, which
// kube observes before refusing it).
func TestClientCertificateExpirationMetric(t *testing.T) {
	ca, other := newTestCA(t, "kapi-ca"), newTestCA(t, "other-ca")
	good, stranger := ca.client(t, "alice", x509.ExtKeyUsageClientAuth), other.client(t, "mallory", x509.ExtKeyUsageClientAuth)
	kube := kubex509.New(x509.VerifyOptions{Roots: ca.pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, kubex509.CommonNameUserConversion)
	ours := &X509{Roots: ca.pool}
	for _, c := range []*x509.Certificate{good, good, stranger} {
		r := httptest.NewRequest("GET", "/api", nil)
		r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{c}}
		kube.AuthenticateRequest(r)
		_, ok, err := ours.AuthenticateRequest(r)
		if ok != (c == good) || (err == nil) != (c == good) {
			t.Fatalf("%s: ok %v, err %v", c.Subject.CommonName, ok, err)
		}
	}
	family := func(g prometheus.Gatherer) *dto.MetricFamily {
		t.Helper()
		all, err := g.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range all {
			if f.GetName() == "apiserver_client_certificate_expiration_seconds" {
				return f
			}
		}
		t.Fatal("no apiserver_client_certificate_expiration_seconds")
		return nil
	}
	want, got := family(legacyregistry.DefaultGatherer), family(metrics.Registry)
	if got.GetHelp() != want.GetHelp() || got.GetType() != want.GetType() || len(got.Metric) != 1 || len(want.Metric) != 1 {
		t.Fatalf("%q %v (%d series), want kube's %q %v (%d)", got.GetHelp(), got.GetType(), len(got.Metric), want.GetHelp(), want.GetType(), len(want.Metric))
	}
	gh, wh := got.Metric[0].GetHistogram(), want.Metric[0].GetHistogram()
	if gh.GetSampleCount() != 3 || wh.GetSampleCount() != 3 || len(gh.Bucket) != len(wh.Bucket) {
		t.Fatalf("%d observations in %d buckets, kube's %d in %d; want 3 each", gh.GetSampleCount(), len(gh.Bucket), wh.GetSampleCount(), len(wh.Bucket))
	}
	for i, b := range wh.Bucket {
		if g := gh.Bucket[i]; g.GetUpperBound() != b.GetUpperBound() || g.GetCumulativeCount() != b.GetCumulativeCount() {
			t.Errorf("bucket le=%v: %d, kube's le=%v: %d", g.GetUpperBound(), g.GetCumulativeCount(), b.GetUpperBound(), b.GetCumulativeCount())
		}
	}
	if gh.Bucket[1].GetCumulativeCount() != 0 || gh.Bucket[2].GetCumulativeCount() != 3 { // le=1800, le=3600
		t.Errorf("an hour's certificates in le=1800: %d, le=3600: %d; want 0 and 3", gh.Bucket[1].GetCumulativeCount(), gh.Bucket[2].GetCumulativeCount())
	}
}
