package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
)

// aggSeen is what an extension server saw of one request: the front
// proxy's client certificate (verified against kapi's front-proxy CA)
// and the user in its headers.
type aggSeen struct {
	Path, ProxyCN, User string
	Groups              []string
}

// aggExtension is an extension API server of the tests: HTTPS on a free
// loopback port with a serving certificate for <service>.<namespace>.svc
// signed by a CA of its own (the APIService's caBundle). As a
// k8s.io/apiserver based server, it only takes requests from a client
// certificate of the front-proxy CA kapi generated (others get 401), and
// reads the user from X-Remote-User and X-Remote-Group.
type aggExtension struct {
	Port int32
	CA   []byte

	mu   sync.Mutex
	seen []aggSeen
}

func (e *aggExtension) requests() []aggSeen {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]aggSeen(nil), e.seen...)
}

// startAggExtension serves h for the service ns/svc until the test ends.
func startAggExtension(t *testing.T, k *kapi, ns, svc string, h http.Handler) *aggExtension {
	t.Helper()
	caPEM, err := os.ReadFile(filepath.Join(k.cfg.DataDir, "pki", "front-proxy-ca.crt"))
	if err != nil {
		t.Fatalf("kapi's front-proxy CA: %v", err)
	}
	frontProxy := x509.NewCertPool()
	frontProxy.AppendCertsFromPEM(caPEM)
	caBundle, serving := aggServingCert(t, svc+"."+ns+".svc")
	e := &aggExtension{CA: caBundle}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.Port = int32(ln.Addr().(*net.TCPAddr).Port)
	srv := &http.Server{
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{serving}, ClientAuth: tls.RequestClientCert},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if len(r.TLS.PeerCertificates) == 0 {
				http.Error(w, "no client certificate", http.StatusUnauthorized)
				return
			}
			cert := r.TLS.PeerCertificates[0]
			if _, err := cert.Verify(x509.VerifyOptions{Roots: frontProxy, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
				http.Error(w, "client certificate: "+err.Error(), http.StatusUnauthorized)
				return
			}
			e.mu.Lock()
			e.seen = append(e.seen, aggSeen{Path: r.URL.Path, ProxyCN: cert.Subject.CommonName,
				User: r.Header.Get("X-Remote-User"), Groups: r.Header.Values("X-Remote-Group")})
			e.mu.Unlock()
			h.ServeHTTP(w, r)
		}),
	}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return e
}

// aggServingCert is a CA and a serving certificate it signs for dnsName
// and 127.0.0.1.
func aggServingCert(t *testing.T, dnsName string) (caPEM []byte, pair tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "extension-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: dnsName},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), DNSNames: []string{dnsName},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// aggService makes the Service ns/name (port 443, named https) and, when
// port is not 0, an EndpointSlice with one endpoint 127.0.0.1:port,
// ready as told.
func aggService(t *testing.T, k *kapi, ns, name string, port int32, ready bool) {
	t.Helper()
	ctx := context.Background()
	if _, err := k.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		if _, err := k.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := k.client.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromInt32(port)}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if port == 0 {
		return
	}
	pn := "https"
	_, err = k.client.DiscoveryV1().EndpointSlices(ns).Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name + "-1", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"127.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		Ports:       []discoveryv1.EndpointPort{{Name: &pn, Port: &port}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// aggAPIService registers group/version as served by the service ns/svc.
func aggAPIService(t *testing.T, k *kapi, group, version, ns, svc string, caBundle []byte, groupPriority, versionPriority int32) {
	t.Helper()
	port := int32(443)
	_, err := aggregator.NewForConfigOrDie(k.rest).ApiregistrationV1().APIServices().Create(context.Background(), &apiregistrationv1.APIService{
		ObjectMeta: metav1.ObjectMeta{Name: version + "." + group},
		Spec: apiregistrationv1.APIServiceSpec{Group: group, Version: version, CABundle: caBundle,
			Service:              &apiregistrationv1.ServiceReference{Namespace: ns, Name: svc, Port: &port},
			GroupPriorityMinimum: groupPriority, VersionPriority: versionPriority},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// aggWaitCondition waits until the APIService's Available condition has
// reason (and a message containing message), and returns it.
func aggWaitCondition(t *testing.T, k *kapi, name, reason, message string) apiregistrationv1.APIServiceCondition {
	t.Helper()
	api := aggregator.NewForConfigOrDie(k.rest).ApiregistrationV1().APIServices()
	var last apiregistrationv1.APIServiceCondition
	err := waitUntil(60*time.Second, func() bool {
		s, err := api.Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, c := range s.Status.Conditions {
			if c.Type == apiregistrationv1.Available {
				last = c
				return c.Reason == reason && strings.Contains(c.Message, message)
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("APIService %s: want reason %s (%q), have %+v", name, reason, message, last)
	}
	return last
}

// aggregatorRaw GETs path through kapi with rc's credentials; a non-2xx
// answer is an error holding its status and body.
func aggregatorRaw(t *testing.T, rc *rest.Config, path string) ([]byte, error) {
	t.Helper()
	hc, err := rest.HTTPClientFor(rc)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Get(strings.TrimSuffix(rc.Host, "/") + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode/100 != 2 {
		err = fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return b, err
}
