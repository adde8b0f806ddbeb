package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"kapi/internal/server"
)

// TestShutdownDelay: with --shutdown-delay-duration, a kapi told to stop
// fails /readyz at once (its "shutdown" check) and serves on as
// before for the delay: /livez passes, requests and watches go on. Then
// its watches end and it stops.
func TestShutdownDelay(t *testing.T) {
	k := startKapi(t, func(c *server.Config) { c.ShutdownDelayDuration = 4 * time.Second })
	ctx := context.Background()
	cms := k.client.CoreV1().ConfigMaps("default")
	// Only the ConfigMap this test writes (the root CA publisher writes
	// one too).
	w, err := cms.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=during-the-delay"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	srv := k.srv
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Stop() }()
	if err := waitUntil(2*time.Second, func() bool {
		code, body := k.rawGet(t, "/readyz?verbose", "")
		return code == http.StatusInternalServerError && strings.Contains(body, "[-]shutdown failed") // kube's 500
	}); err != nil {
		code, body := k.rawGet(t, "/readyz?verbose", "")
		t.Fatalf("/readyz while shutting down: %d %s", code, body)
	}
	// Serving on meanwhile, watches too.
	if code, body := k.rawGet(t, "/livez", ""); code != http.StatusOK {
		t.Fatalf("/livez during the delay: %d %s", code, body)
	}
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "during-the-delay"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("a write during the delay: %v", err)
	}
	select {
	case ev := <-w.ResultChan():
		if ev.Type != watch.Added || ev.Object.(*corev1.ConfigMap).Name != "during-the-delay" {
			t.Fatalf("watch during the delay: %v %v", ev.Type, ev.Object)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the watch saw nothing during the delay")
	}
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned during the delay: %v", err)
	default:
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	k.srv = nil
	// The watch has ended.
	for range w.ResultChan() {
	}
}

// TestShutdownSendRetryAfter: with --shutdown-send-retry-after, once the
// delay is over kapi keeps listening until its requests in flight have
// drained, answering new ones with kube's 429, Retry-After: 5 and
// Connection: close (the health endpoints still answer); the request in
// flight (a create held by a webhook) completes; then it stops.
func TestShutdownSendRetryAfter(t *testing.T) {
	k := startKapi(t, func(c *server.Config) { c.ShutdownSendRetryAfter = true })
	ctx := context.Background()
	hook := newAdmissionServer(t)
	entered, release := make(chan struct{}), make(chan struct{})
	hook.on("/hold", func(r *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
		if r.Name == "held" {
			close(entered)
			<-release
		}
		return &admissionv1.AdmissionResponse{Allowed: true}
	})
	fail := admissionregistrationv1.Fail
	none := admissionregistrationv1.SideEffectClassNone
	if _, err := k.client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "hold"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "hold.kapi.test", ClientConfig: hook.clientConfig("/hold"),
			Rules: configMapRules(admissionregistrationv1.Create), FailurePolicy: &fail, SideEffects: &none,
			AdmissionReviewVersions: []string{"v1"}, NamespaceSelector: inNamespace("default"), TimeoutSeconds: ptr(int32(30))}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cms := k.client.CoreV1().ConfigMaps("default")
	settle(t, "the webhook", func() bool {
		_, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "probe-"}}, metav1.CreateOptions{})
		return err == nil && len(hook.requests("/hold")) > 0
	})
	created := make(chan error, 1)
	go func() {
		_, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held"}}, metav1.CreateOptions{})
		created <- err
	}()
	<-entered
	srv := k.srv
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Stop() }()
	// A new request gets kube's 429 while the held one drains.
	var resp *http.Response
	var body string
	if err := waitUntil(10*time.Second, func() bool {
		req, _ := http.NewRequest("GET", k.srv.URL+"/api/v1/namespaces", nil)
		r, err := rawClient(t, k).Do(req)
		if err != nil {
			return false
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		resp, body = r, string(b)
		return r.StatusCode == http.StatusTooManyRequests
	}); err != nil {
		t.Fatalf("no 429 while draining: last %v %q", resp, body)
	}
	if resp.Header.Get("Retry-After") != "5" || body != "The apiserver is shutting down, please try again later.\n" || !resp.Close {
		t.Fatalf("the 429: Retry-After %q, Connection close %v, body %q", resp.Header.Get("Retry-After"), resp.Close, body)
	}
	if code, body := k.rawGet(t, "/livez", ""); code != http.StatusOK {
		t.Fatalf("/livez while draining: %d %s", code, body)
	}
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned with a request in flight: %v", err)
	default:
	}
	close(release)
	if err := <-created; err != nil {
		t.Fatalf("the request in flight: %v", err)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	k.srv = nil
}

// rawClient is an HTTP/1.1 client of k that trusts its CA and shows the
// client certificates given, if any.
func rawClient(t *testing.T, k *kapi, certs ...tls.Certificate) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(readFile(t, k.srv.PKI.CACert)))
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: certs}}}
}
