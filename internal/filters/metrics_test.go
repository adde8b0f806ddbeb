package filters

import (
	"net/http"
	"net/http/httptest"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"kapi/internal/metrics"
	"kapi/internal/request"
)

// TestRequestLabels checks kube-apiserver's labels of requests: the verb
// as its metrics report it, the scope, the non-resource labels.
func TestRequestLabels(t *testing.T) {
	cases := []struct {
		method, url, contentType string
		want                     labels
	}{
		{"POST", "/apis/apps/v1/namespaces/ns/deployments", "", labels{"POST", "apps", "v1", "deployments", "", "resource", "apiserver", false}},
		{"GET", "/apis/apps/v1/namespaces/ns/deployments/d1", "", labels{"GET", "apps", "v1", "deployments", "", "resource", "apiserver", true}},
		{"HEAD", "/apis/apps/v1/namespaces/ns/deployments/d1", "", labels{"GET", "apps", "v1", "deployments", "", "resource", "apiserver", true}},
		{"GET", "/apis/apps/v1/namespaces/ns/deployments", "", labels{"LIST", "apps", "v1", "deployments", "", "namespace", "apiserver", true}},
		{"GET", "/api/v1/pods", "", labels{"LIST", "", "v1", "pods", "", "cluster", "apiserver", true}},
		{"GET", "/api/v1/namespaces", "", labels{"LIST", "", "v1", "namespaces", "", "cluster", "apiserver", true}},
		{"GET", "/api/v1/namespaces/ns/pods?watch=true", "", labels{"WATCH", "", "v1", "pods", "", "namespace", "apiserver", true}},
		{"GET", "/api/v1/watch/namespaces/ns/pods", "", labels{"WATCH", "", "v1", "pods", "", "namespace", "apiserver", false}},
		{"PUT", "/apis/apps/v1/namespaces/ns/deployments/d1/status", "", labels{"PUT", "apps", "v1", "deployments", "status", "resource", "apiserver", false}},
		{"PATCH", "/api/v1/namespaces/ns/configmaps/c1", "application/merge-patch+json", labels{"PATCH", "", "v1", "configmaps", "", "resource", "apiserver", false}},
		{"PATCH", "/api/v1/namespaces/ns/configmaps/c1", "application/apply-patch+yaml", labels{"APPLY", "", "v1", "configmaps", "", "resource", "apiserver", false}},
		{"DELETE", "/api/v1/namespaces/ns/configmaps", "", labels{"DELETE", "", "v1", "configmaps", "", "namespace", "apiserver", false}},
		{"GET", "/api/v1/namespaces/ns/pods/p1/log", "", labels{"CONNECT", "", "v1", "pods", "log", "resource", "apiserver", false}},
		{"POST", "/api/v1/namespaces/ns/pods/p1/exec", "", labels{"CONNECT", "", "v1", "pods", "exec", "resource", "apiserver", false}},
		{"GET", "/api/v1/namespaces/ns1", "", labels{"GET", "", "v1", "namespaces", "", "resource", "apiserver", true}},
		{"PUT", "/api/v1/namespaces/ns1/finalize", "", labels{"PUT", "", "v1", "namespaces", "finalize", "resource", "apiserver", false}},
		{"GET", "/healthz", "", labels{"GET", "", "", "", "/healthz", "", "apiserver", true}},
		{"GET", "/version", "", labels{"GET", "", "", "", "/version", "", "apiserver", true}},
		{"OPTIONS", "/apis", "", labels{"other", "", "", "", "/apis", "", "apiserver", false}},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, c.url, nil)
		if c.contentType != "" {
			r.Header.Set("Content-Type", c.contentType)
		}
		if got := requestLabels(r, request.Parse(r)); got != c.want {
			t.Errorf("%s %s: got %+v, want %+v", c.method, c.url, got, c.want)
		}
	}
}

func TestCleanDryRun(t *testing.T) {
	for query, want := range map[string]string{
		"":                           "",
		"?dryRun=All":                "All",
		"?dryRun=All&dryRun=All":     "All",
		"?dryRun=Some":               "invalid",
		"?dryRun=":                   "invalid",
		"?fieldManager=x&dryRun=All": "All",
	} {
		r := httptest.NewRequest("POST", "/api/v1/namespaces/ns/configmaps"+query, nil)
		if got := cleanDryRun(r); got != want {
			t.Errorf("%q: got %q, want %q", query, got, want)
		}
	}
}

// TestMetricsUnknownResource checks that a 404 of a resource the MUX does
// not serve is not counted (no label values made up by a client), and a
// 404 of a missing object is; nor is any error of a subresource nobody
// serves, whatever its bytes (the fuzzer's "\xea0" was a panic).
func TestMetricsUnknownResource(t *testing.T) {
	served := func(i *request.Info) bool { return i.Resource == "configmaps" && i.Subresource == "" }
	h := RequestInfo(Metrics(served, nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code := http.StatusNotFound
		if r.Method == http.MethodPost {
			code = http.StatusMethodNotAllowed
		}
		http.Error(w, "no", code)
	})))
	for _, p := range []string{"/api/v1/namespaces/ns/configmaps/x/\xea0", "/api/v1/namespaces/ns/configmaps/x/madeup"} {
		for _, method := range []string{"GET", "POST"} {
			r := httptest.NewRequest(method, "/", nil)
			r.URL.Path = p
			h.ServeHTTP(httptest.NewRecorder(), r)
		}
	}
	count := func(resource string) float64 {
		var m dto.Metric
		if err := requestCounter.WithLabelValues("GET", "", "", "v1", resource, "", "resource", "apiserver", "404").Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetCounter().GetValue()
	}
	before := count("configmaps")
	for _, p := range []string{"/api/v1/namespaces/ns/configmaps/missing", "/api/v1/namespaces/ns/madeup/x"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	if got := count("configmaps") - before; got != 1 {
		t.Errorf("configmaps 404 counted %v times, want 1", got)
	}
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetValue() == "madeup" {
					t.Errorf("%s counts a resource that is not served: %v", f.GetName(), m.Label)
				}
			}
		}
	}
}
