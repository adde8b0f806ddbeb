package e2e

import (
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// admissionServer is a webhook server for the tests: HTTPS on loopback,
// one behaviour per path, every request recorded.
type admissionServer struct {
	srv   *httptest.Server
	caPEM []byte
	mu    sync.Mutex
	// answers decide, per path, what a request gets; raw answers write
	// the HTTP response themselves (garbage, a wrong uid, nothing).
	answers map[string]func(*admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse
	raw     map[string]func(w http.ResponseWriter, review *admissionv1.AdmissionReview)
	calls   map[string][]*admissionv1.AdmissionRequest
	// versions records the AdmissionReview apiVersion of each call, by
	// path.
	versions map[string][]string
}

func newAdmissionServer(t *testing.T, dnsNames ...string) *admissionServer {
	t.Helper()
	var cert *tls.Certificate
	if len(dnsNames) > 0 {
		c := selfSigned(t, dnsNames)
		cert = &c
	}
	return newAdmissionServerWith(t, cert)
}

// newAdmissionServerWith serves with cert (nil: httptest's).
func newAdmissionServerWith(t *testing.T, cert *tls.Certificate) *admissionServer {
	t.Helper()
	s := &admissionServer{answers: map[string]func(*admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse{},
		raw: map[string]func(http.ResponseWriter, *admissionv1.AdmissionReview){}, calls: map[string][]*admissionv1.AdmissionRequest{},
		versions: map[string][]string{}}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.EnableHTTP2 = true
	if cert != nil {
		s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{*cert}}
	}
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	s.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
	return s
}

func (s *admissionServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	review := &admissionv1.AdmissionReview{}
	if err := json.Unmarshal(body, review); err != nil || review.Request == nil {
		http.Error(w, "bad review", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.calls[r.URL.Path] = append(s.calls[r.URL.Path], review.Request)
	s.versions[r.URL.Path] = append(s.versions[r.URL.Path], review.APIVersion)
	answer, raw := s.answers[r.URL.Path], s.raw[r.URL.Path]
	s.mu.Unlock()
	if raw != nil {
		raw(w, review)
		return
	}
	resp := &admissionv1.AdmissionResponse{Allowed: true}
	if answer != nil {
		resp = answer(review.Request)
	}
	resp.UID = review.Request.UID
	out := admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: resp}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(&out)
}

// on sets the answer of path.
func (s *admissionServer) on(path string, f func(*admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[path] = f
}

// onRaw sets a raw answer of path.
func (s *admissionServer) onRaw(path string, f func(http.ResponseWriter, *admissionv1.AdmissionReview)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.raw[path] = f
}

// requests are the requests path got.
func (s *admissionServer) requests(path string) []*admissionv1.AdmissionRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*admissionv1.AdmissionRequest(nil), s.calls[path]...)
}

func (s *admissionServer) url(path string) *string { return ptr(s.srv.URL + path) }

// clientConfig calls path on the server by URL.
func (s *admissionServer) clientConfig(path string) admissionregistrationv1.WebhookClientConfig {
	return admissionregistrationv1.WebhookClientConfig{URL: s.url(path), CABundle: s.caPEM}
}

// configMapRules: every operation on ConfigMaps.
func configMapRules(ops ...admissionregistrationv1.OperationType) []admissionregistrationv1.RuleWithOperations {
	if len(ops) == 0 {
		ops = []admissionregistrationv1.OperationType{admissionregistrationv1.OperationAll}
	}
	return []admissionregistrationv1.RuleWithOperations{{Operations: ops,
		Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}}}}
}

// inNamespace selects the namespace named ns (by its name label).
func inNamespace(ns string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}}
}

// objectOf decodes a request's object.
func objectOf(t *testing.T, raw []byte) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := json.Unmarshal(raw, &u.Object); err != nil {
		t.Fatalf("object %s: %v", raw, err)
	}
	return u
}

// patchResponse allows with a JSONPatch.
func patchResponse(ops ...map[string]any) *admissionv1.AdmissionResponse {
	p, _ := json.Marshal(ops)
	pt := admissionv1.PatchTypeJSONPatch
	return &admissionv1.AdmissionResponse{Allowed: true, Patch: p, PatchType: &pt}
}

// escapeJSONPointer escapes a key for a JSONPatch path.
func escapeJSONPointer(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// settle waits until probe reports the webhooks in force (a write the
// webhook sees), as configurations take effect a moment after they are
// written. The bound is generous: CI runs packages side by side on two
// cores.
func settle(t *testing.T, what string, probe func() bool) {
	t.Helper()
	if err := waitUntil(20*time.Second, probe); err != nil {
		t.Fatalf("%s did not take effect: %v", what, err)
	}
}
