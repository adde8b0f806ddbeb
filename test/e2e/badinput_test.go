package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// request sends a raw request to kapi, with the headers given as name,
// value pairs, and returns the status code, the response headers and the
// body.
func (k *kapi) request(t *testing.T, method, path, contentType string, body []byte, header ...string) (int, http.Header, []byte) {
	t.Helper()
	hc, err := rest.HTTPClientFor(k.rest)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, k.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// do is request, with the Status decoded when the body is one.
func (k *kapi) do(t *testing.T, method, path, contentType string, body []byte, header ...string) (int, *metav1.Status, []byte) {
	t.Helper()
	code, _, b := k.request(t, method, path, contentType, body, header...)
	var st metav1.Status
	if json.Unmarshal(b, &st) == nil && st.Kind == "Status" {
		return code, &st, b
	}
	return code, nil, b
}

// TestBadInput: each bad request gets a Status with the right code and
// reason, and nothing is stored.
func TestBadInput(t *testing.T) {
	k := startKapi(t, withoutLoops(rootCAPublisher))
	for _, c := range badInputCatalogue() {
		t.Run(c.name, func(t *testing.T) {
			code, st, body := k.do(t, c.method, c.path, c.ct, []byte(c.body))
			if code != c.code || st == nil || st.Reason != c.reason || st.Code != int32(c.code) {
				t.Fatalf("got %d %s, want %d %s", code, body, c.code, c.reason)
			}
		})
	}
	// Nothing of the above was stored (they all write in default;
	// kube-system holds kube-apiserver's own ConfigMaps).
	list, err := k.client.CoreV1().ConfigMaps("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 0 {
		t.Fatalf("bad requests stored %d objects", len(list.Items))
	}
}

// TestBodyTooLarge: a body over 3 MiB is refused with 413 and nothing is
// stored; a 1.5 MiB object (over etcd's limit) is refused without a write.
func TestBodyTooLarge(t *testing.T) {
	k := startKapi(t, withoutLoops(rootCAPublisher))
	big := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"a":"` + strings.Repeat("x", 3*1024*1024) + `"}}`
	code, st, body := k.do(t, "POST", "/api/v1/namespaces/default/configmaps", "application/json", []byte(big))
	if code != 413 || st == nil || st.Reason != metav1.StatusReasonRequestEntityTooLarge {
		t.Fatalf("got %d %.200s", code, body)
	}
	mid := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"mid"},"data":{"a":"` + strings.Repeat("x", 1600*1024) + `"}}`
	code, st, body = k.do(t, "POST", "/api/v1/namespaces/default/configmaps", "application/json", []byte(mid))
	// ConfigMap validation (1 MiB of data) refuses it first, as in
	// kube-apiserver; etcd's own limit would be a 413.
	if (code != 413 && code != 422) || st == nil {
		t.Fatalf("got %d %.200s", code, body)
	}
	list, err := k.client.CoreV1().ConfigMaps("default").List(context.Background(), metav1.ListOptions{})
	if err != nil || len(list.Items) != 0 {
		t.Fatalf("list: %v, %d items", err, len(list.Items))
	}
}

// badRequest is a request kapi must refuse, with the answer it must give.
type badRequest struct {
	name, method, path, ct, body string
	code                         int
	reason                       metav1.StatusReason
}

// badInputCatalogue is the bad-input catalogue: each request writes, if it
// wrote at all, in namespace default.
func badInputCatalogue() []badRequest {
	cms := "/api/v1/namespaces/default/configmaps"
	long := strings.Repeat("a", 254)
	return []badRequest{
		{"malformed JSON", "POST", cms, "application/json", `{"metadata": {"name": "x"`, 400, metav1.StatusReasonBadRequest},
		{"malformed YAML", "POST", cms, "application/yaml", "metadata:\n  name: [x\n", 400, metav1.StatusReasonBadRequest},
		{"malformed protobuf", "POST", cms, "application/vnd.kubernetes.protobuf", "k8s\x00\x0a\xff\xff", 400, metav1.StatusReasonBadRequest},
		{"kind mismatch", "POST", cms, "application/json", `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}`, 400, metav1.StatusReasonBadRequest},
		{"version mismatch", "POST", cms, "application/json", `{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"x"}}`, 400, metav1.StatusReasonBadRequest},
		{"name with slash", "POST", cms, "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a/b"}}`, 422, metav1.StatusReasonInvalid},
		{"name dot dot", "POST", cms, "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":".."}}`, 422, metav1.StatusReasonInvalid},
		{"upper case name", "POST", cms, "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Upper"}}`, 422, metav1.StatusReasonInvalid},
		{"name too long", "POST", cms, "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"` + long + `"}}`, 422, metav1.StatusReasonInvalid},
		{"no name", "POST", cms, "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}`, 422, metav1.StatusReasonInvalid},
		{"bad label", "POST", cms, "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","labels":{"a b":"c"}}}`, 422, metav1.StatusReasonInvalid},
		{"bad annotation", "POST", cms, "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","annotations":{"/bad":"c"}}}`, 422, metav1.StatusReasonInvalid},
		{"namespace differs", "POST", cms, "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"kube-system"}}`, 400, metav1.StatusReasonBadRequest},
		{"unknown content type", "POST", cms, "text/plain", `x`, 415, metav1.StatusReasonUnsupportedMediaType},
		{"unknown resource", "GET", "/api/v1/namespaces/default/widgets", "", "", 404, metav1.StatusReasonNotFound},
		{"unknown group", "GET", "/apis/nothing.example.com/v1/widgets", "", "", 404, metav1.StatusReasonNotFound},
		{"unknown path", "GET", "/nothing/here", "", "", 404, metav1.StatusReasonNotFound},
		{"wrong method", "POST", "/version", "application/json", "{}", 405, metav1.StatusReasonMethodNotAllowed},
		{"wrong method on object", "POST", cms + "/x", "application/json", "{}", 405, metav1.StatusReasonMethodNotAllowed},
		{"bad label selector", "GET", cms + "?labelSelector=a%20%3D%3D%3D", "", "", 400, metav1.StatusReasonBadRequest},
		{"bad field selector", "GET", cms + "?fieldSelector=spec.nothing%3Dx", "", "", 400, metav1.StatusReasonBadRequest},
		{"bad resourceVersion", "GET", cms + "?resourceVersion=abc", "", "", 400, metav1.StatusReasonBadRequest},
		{"bad continue", "GET", cms + "?limit=1&continue=garbage", "", "", 400, metav1.StatusReasonBadRequest},
		{"exact without rv", "GET", cms + "?resourceVersionMatch=Exact", "", "", 422, metav1.StatusReasonInvalid},
		{"bad dryRun", "POST", cms + "?dryRun=Some", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}`, 400, metav1.StatusReasonBadRequest},
		{"bad patch", "PATCH", cms + "/nothing", "application/merge-patch+json", `{`, 400, metav1.StatusReasonBadRequest},
	}
}

// rawHeaders sends a JSON request and returns the response headers.
func (k *kapi) rawHeaders(t *testing.T, method, path string, body []byte) http.Header {
	t.Helper()
	_, h, _ := k.request(t, method, path, "application/json", body)
	return h
}
