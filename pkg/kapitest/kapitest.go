// Package kapitest starts kapi inside a test process, as envtest starts a
// kube-apiserver and an etcd, without binaries to download or processes to
// clean up: Start brings up a kapi on a free loopback port with an embedded
// etcd in t.TempDir() and stops it when the test ends.
//
//	func TestWidgetReconciler(t *testing.T) {
//		t.Parallel()
//		s := kapitest.Start(t, kapitest.CRDs("testdata/crds")) // served when Start returns
//
//		mgr, err := ctrl.NewManager(s.Config, ctrl.Options{ // s.Config: an admin
//			Metrics:    metricsserver.Options{BindAddress: "0"},
//			Controller: config.Controller{SkipNameValidation: ptr.To(true)}, // managers side by side
//		})
//		if err != nil {
//			t.Fatal(err)
//		}
//		if err := ctrl.NewControllerManagedBy(mgr).For(&examplev1.Widget{}).
//			Complete(&WidgetReconciler{Client: mgr.GetClient()}); err != nil {
//			t.Fatal(err)
//		}
//		ctx, cancel := context.WithCancel(context.Background())
//		done := make(chan error)
//		go func() { done <- mgr.Start(ctx) }()
//		t.Cleanup(func() { cancel(); <-done }) // before the server stops
//
//		c := mgr.GetClient()
//		// ... create a Widget with c, wait until the reconciler wrote its status
//	}
//
// TestControllerRuntime in example_test.go is this test, runnable.
//
// A start takes a few tens of milliseconds (see BenchmarkStart), so each
// test can have a server of its own, and twenty run side by side in one
// test binary. What makes that cheap:
//
//   - the certificates and the service-account key are generated once per
//     test process and copied into each server's folder (every server of a
//     process trusts the same CA: a client certificate made for one is
//     valid on the others);
//   - etcd is tuned for a test's lifetime: no fsync, small snapshots, a 2 ms
//     tick so that it elects itself within milliseconds;
//   - the control loops' leader election is off (each server is alone).
//
// Privileged containers are allowed (--allow-privileged=true), as envtest
// starts kube-apiserver; the kapi binary, as kube-apiserver, refuses them
// by default.
//
// s.Config is an admin (system:masters); s.ConfigFor makes a client of any
// user and groups, authenticated by a client certificate signed by the
// server's CA, which RBAC then judges as kube-apiserver would.
// s.ServeWebhook serves an admission or conversion webhook from the test
// process over TLS, and returns the client configuration to put in a
// webhook configuration or a CRD's conversion.
//
// The server is kapi itself: the same API, admission, RBAC and control
// loops (namespace deletion, garbage collection, service accounts, ...) as
// the kapi binary. Options turn the loops off or pick some.
package kapitest

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/rest"

	"kapi/internal/features"
	"kapi/internal/server"
)

// Server is a kapi started for one test.
type Server struct {
	// URL is where it serves, e.g. https://127.0.0.1:41234.
	URL string
	// Config is a client configuration of an administrator (group
	// system:masters), without client-side rate limiting. Copy it
	// (rest.CopyConfig) before changing it.
	Config *rest.Config
	// Kubeconfig is the path of the admin kubeconfig, for kubectl.
	Kubeconfig string
	// DataDir is the server's data folder (etcd's data in etcd/, the
	// certificates in pki/).
	DataDir string

	t        testing.TB
	srv      *server.Server
	pki      *bundle
	mu       sync.Mutex
	webhooks *webhookServer
	stopOnce sync.Once
}

// Option changes how Start starts kapi.
type Option func(*options)

type options struct {
	crdPaths       []string
	crds           []*apiextensionsv1.CustomResourceDefinition
	controllers    []string
	setControllers bool
	timeout        time.Duration
	featureGates   []string
}

// CRDs installs the CustomResourceDefinitions in the YAML or JSON files
// at paths (a folder: its .yaml, .yml and .json files, not its
// sub-folders), and waits until they are served, before Start returns.
// Documents of other kinds in those files are skipped.
func CRDs(paths ...string) Option {
	return func(o *options) { o.crdPaths = append(o.crdPaths, paths...) }
}

// CRDObjects installs crds, and waits until they are served, before Start
// returns.
func CRDObjects(crds ...*apiextensionsv1.CustomResourceDefinition) Option {
	return func(o *options) { o.crds = append(o.crds, crds...) }
}

// Controllers picks kapi's control loops with kube-controller-manager's
// --controllers syntax: "*" the loops on by default, "name" on, "-name"
// off. Controllers() with no names runs none. Without this option every
// default loop runs, as in the kapi binary. Start fails the test on a
// name that is no loop.
func Controllers(names ...string) Option {
	return func(o *options) { o.controllers, o.setControllers = append([]string{}, names...), true }
}

// FeatureGates sets kube's feature gates as kube-apiserver's
// --feature-gates does ("WatchList=false", "APIResponseCompression=false"),
// for a test of how a controller does against a server with a feature
// off: FeatureGates("WatchList=false") makes client-go's informers fall
// back from watch lists to a list and a watch. Start fails the test on a
// setting kube refuses; a gate kapi does not honour is logged.
func FeatureGates(settings ...string) Option {
	return func(o *options) { o.featureGates = append(o.featureGates, settings...) }
}

// Timeout bounds the start, CRDs included (default one minute).
func Timeout(d time.Duration) Option {
	return func(o *options) { o.timeout = d }
}

// Start starts kapi for the test and stops it in t.Cleanup. It fails the
// test if kapi does not start. It is safe to call from parallel tests.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	o := options{timeout: time.Minute}
	for _, f := range opts {
		f(&o)
	}
	b, err := sharedBundle()
	if err != nil {
		t.Fatalf("kapitest: certificates: %v", err)
	}
	dir := t.TempDir()
	if err := b.writeTo(filepath.Join(dir, "pki")); err != nil {
		t.Fatalf("kapitest: %v", err)
	}
	cfg := server.Defaults()
	cfg.DataDir = dir
	cfg.SecurePort = 0
	cfg.Out = io.Discard
	cfg.EtcdForTests = true
	// Webhooks and conversion served by the test process listen on
	// loopback.
	cfg.ProxyAllowLoopback = true
	// Privileged containers allowed, as envtest's kube-apiserver flags
	// allow them.
	cfg.AllowPrivileged = true
	// Alone, a server needs no election before its loops run.
	cfg.LeaderElect = false
	if o.setControllers {
		cfg.Controllers = o.controllers
	}
	if len(o.featureGates) > 0 {
		g := features.New()
		if err := features.Set(g, map[string][]string{"": o.featureGates}); err != nil {
			t.Fatalf("kapitest: feature gates: %v", err)
		}
		for _, s := range features.NoEffect(g) {
			t.Logf("kapitest: feature gate %s has no effect in kapi", s)
		}
		cfg.FeatureGates = g
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	srv, err := server.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("kapitest: starting kapi: %v", err)
	}
	s := &Server{URL: srv.URL, Kubeconfig: srv.Kubeconfig, DataDir: dir, t: t, srv: srv, pki: b}
	t.Cleanup(s.Stop)
	s.Config = s.config(b.adminCert, b.adminKey)
	if len(o.crdPaths) > 0 || len(o.crds) > 0 {
		crds, err := ReadCRDs(o.crdPaths...)
		if err != nil {
			t.Fatalf("kapitest: %v", err)
		}
		if err := s.installCRDs(ctx, append(crds, o.crds...)); err != nil {
			t.Fatalf("kapitest: %v", err)
		}
	}
	return s
}

// Stop stops the server (and the webhook server, if any) and waits until
// every goroutine of theirs has ended. t.Cleanup calls it; calling it
// earlier, or again, is harmless.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		wh := s.webhooks
		s.mu.Unlock()
		if wh != nil {
			wh.close()
		}
		if err := s.srv.Stop(); err != nil {
			s.t.Errorf("kapitest: stopping kapi: %v", err)
		}
	})
}

// ConfigFor is a client configuration of user, member of groups (and of
// system:authenticated, as every user): a client certificate signed by
// the server's CA, its common name the user and its organisations the
// groups, as kube-apiserver's x509 authenticator reads it. The user has
// no permission until RBAC grants one.
func (s *Server) ConfigFor(user string, groups ...string) *rest.Config {
	s.t.Helper()
	cert, key, err := s.pki.clientCert(user, groups)
	if err != nil {
		s.t.Fatalf("kapitest: a certificate for %s: %v", user, err)
	}
	return s.config(cert, key)
}

func (s *Server) config(certPEM, keyPEM []byte) *rest.Config {
	return &rest.Config{
		Host: s.URL,
		TLSClientConfig: rest.TLSClientConfig{
			CAData: s.pki.caCert, CertData: certPEM, KeyData: keyPEM,
		},
		QPS: -1, // no client-side rate limit
	}
}

// CABundle is the PEM of the CA that signed the server's serving
// certificate, the certificates of ConfigFor and the webhook server's.
func (s *Server) CABundle() []byte { return append([]byte(nil), s.pki.caCert...) }

// ServeWebhook serves h at path (e.g. "/validate-widgets") on the test
// process's webhook server for this kapi: HTTPS on a free loopback port,
// with a certificate for 127.0.0.1 and localhost signed by the server's
// CA, started on the first call and stopped with the server. It returns
// the client configuration for kapi to call it, to put in a
// ValidatingWebhookConfiguration's or MutatingWebhookConfiguration's
// webhook (a CRD's conversion webhook takes the same URL and CABundle). h can be controller-runtime's
// webhook.Admission or conversion handler, or any http.Handler.
func (s *Server) ServeWebhook(path string, h http.Handler) admissionregistrationv1.WebhookClientConfig {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.webhooks == nil {
		wh, err := startWebhookServer(s.pki)
		if err != nil {
			s.t.Fatalf("kapitest: webhook server: %v", err)
		}
		s.webhooks = wh
	}
	s.webhooks.mux.Handle(path, h)
	url := s.webhooks.url + path
	return admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: s.CABundle()}
}

// webhookServer is the test process's HTTPS server of a kapi's webhooks.
type webhookServer struct {
	url  string
	mux  *http.ServeMux
	http *http.Server
	done chan struct{}
}

func startWebhookServer(b *bundle) (*webhookServer, error) {
	pair, err := tls.X509KeyPair(b.webhookCert, b.webhookKey)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	wh := &webhookServer{url: "https://" + ln.Addr().String(), mux: http.NewServeMux(), done: make(chan struct{})}
	wh.http = &http.Server{Handler: wh.mux, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}}
	go func() {
		defer close(wh.done)
		wh.http.Serve(tls.NewListener(ln, wh.http.TLSConfig))
	}()
	return wh, nil
}

func (wh *webhookServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if wh.http.Shutdown(ctx) != nil {
		wh.http.Close()
	}
	<-wh.done
}
