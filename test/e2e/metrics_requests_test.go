package e2e

import (
	"context"
	"crypto/tls"
	"net/url"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// TestMetricsRequestFamilies makes the requests that produce
// kube-apiserver 1.37's request, filter, authentication and authorization
// metrics, and reads each family back from /metrics with kube's help text
// (its stability prefix included), type, label names and label values.
// The non-resource requests are counted as kube counts them: /readyz,
// aggregated discovery and OpenAPI v3 with their handlers' labels,
// /version and the unaggregated discovery documents not at all.
func TestMetricsRequestFamilies(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	ns := "default"
	tlsErrorsBefore := value(sample(scrape(t, k.client)["apiserver_tls_handshake_errors_total"], map[string]string{}))

	// Writes with a body: create, patch, delete.
	cms := k.client.CoreV1().ConfigMaps(ns)
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "sized"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Patch(ctx, "sized", types.MergePatchType, []byte(`{"data":{"a":"1"}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	// A deprecated version: v1 Endpoints.
	if _, err := k.client.CoreV1().Endpoints(ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	// A watch list: its initial events, then the bookmark that ends them.
	w, err := cms.Watch(ctx, metav1.ListOptions{SendInitialEvents: ptr(true), AllowWatchBookmarks: true,
		ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan})
	if err != nil {
		t.Fatal(err)
	}
	func() {
		defer w.Stop()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case ev, ok := <-w.ResultChan():
				if !ok {
					t.Fatal("the watch list ended before its initial events did")
				}
				if m, err := meta.Accessor(ev.Object); ev.Type == watch.Bookmark && err == nil && m.GetAnnotations()[metav1.InitialEventsAnnotationKey] == "true" {
					return
				}
			case <-timeout:
				t.Fatal("no initial-events-end bookmark")
			}
		}
	}()
	if err := cms.Delete(ctx, "sized", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	// Non-resource requests: the health endpoints, aggregated discovery
	// (client-go asks for it), OpenAPI v3 (counted), /version, a
	// group-version's discovery document, /openapi/v2 (not counted).
	raw := k.client.Discovery().RESTClient()
	for _, p := range []string{"/readyz", "/livez", "/openapi/v3", "/openapi/v3/api/v1", "/version", "/api/v1", "/apis/apps", "/openapi/v2"} {
		if err := raw.Get().AbsPath(p).Do(ctx).Error(); err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
	}
	if _, _, err := k.client.Discovery().ServerGroupsAndResources(); err != nil {
		t.Fatal(err)
	}

	// Authorization: RBAC allows anyone /version; nobody may list
	// secrets (no authorizer decides: 403).
	if _, err := asUser(k, "alice").Discovery().ServerVersion(); err != nil {
		t.Fatal(err)
	}
	if _, err := asUser(k, "nobody").CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("nobody lists secrets: %v", err)
	}
	// Authentication: a token nobody issued is an error (401).
	bogus := rest.AnonymousClientConfig(k.rest)
	bogus.BearerToken = "not-a-token"
	if _, err := kubernetes.NewForConfigOrDie(bogus).CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
		t.Fatalf("a bogus token: %v", err)
	}
	// A TLS handshake that fails: a client that does not trust kapi's
	// certificate.
	u, err := url.Parse(k.rest.Host)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := tls.Dial("tcp", u.Host, &tls.Config{ServerName: "kubernetes", MinVersion: tls.VersionTLS12}); err == nil {
		c.Close()
		t.Fatal("a client without kapi's CA completed the TLS handshake")
	}

	// Some families are written after the response: the watch list's
	// latency once its bookmark is out, the self-requests of kapi's own
	// loops, the TLS error when the server reads the client's alert.
	var families map[string]*dto.MetricFamily
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		families = scrape(t, k.client)
		tlsErrors := value(sample(families["apiserver_tls_handshake_errors_total"], map[string]string{}))
		return families["apiserver_watch_list_duration_seconds"] != nil && families["apiserver_selfrequest_total"] != nil &&
			tlsErrors > tlsErrorsBefore, nil
	}); err != nil {
		t.Errorf("the watch list, self-requests and TLS errors are not all counted: %v", err)
	}

	for name, help := range map[string]string{
		"apiserver_request_sli_duration_seconds":    "[ALPHA] Response latency distribution (not counting webhook duration and priority & fairness queue wait times) in seconds for each verb, group, version, resource, subresource, scope and component.",
		"apiserver_request_filter_duration_seconds": "[ALPHA] Request filter latency distribution in seconds, for each filter type",
		"apiserver_request_body_size_bytes":         "[ALPHA] Apiserver request body size in bytes broken out by resource and verb.",
		"apiserver_requested_deprecated_apis":       "[STABLE] Gauge of deprecated APIs that have been requested, broken out by API group, version, resource, subresource, and removed_release.",
		"apiserver_selfrequest_total":               "[ALPHA] Counter of apiserver self-requests broken out for each verb, API resource and subresource.",
		"apiserver_watch_list_duration_seconds":     "[BETA] Response latency distribution in seconds for watch list requests broken by group, version, resource and scope.",
		"apiserver_current_inqueue_requests":        "[ALPHA] Maximal number of queued requests in this apiserver per request kind in last second.",
		"apiserver_tls_handshake_errors_total":      "[ALPHA] Number of requests dropped with 'TLS handshake error from' error",
		"authentication_duration_seconds":           "[ALPHA] Authentication duration in seconds broken out by result.",
		"authenticated_user_requests":               "[ALPHA] Counter of authenticated requests broken out by username.",
		"authentication_attempts":                   "[ALPHA] Counter of authenticated attempts.",
		"authorization_attempts_total":              "[ALPHA] Counter of authorization attempts broken down by result. It can be either 'allowed', 'denied', 'no-opinion' or 'error'.",
		"authorization_duration_seconds":            "[ALPHA] Authorization duration in seconds broken out by result.",
		"apiserver_authorization_decisions_total":   "[ALPHA] Total number of terminal decisions made by an authorizer split by authorizer type, name, and decision.",
	} {
		if f := families[name]; f == nil {
			t.Errorf("%s is not served", name)
		} else if f.GetHelp() != help {
			t.Errorf("%s help %q, want kube's %q", name, f.GetHelp(), help)
		}
	}

	atLeastOne := func(f *dto.MetricFamily, labels map[string]string) {
		t.Helper()
		if v := value(sample(f, labels)); v < 1 {
			t.Errorf("%s%v = %v, want >= 1", f.GetName(), labels, v)
		}
	}
	reqLabels := []string{"verb", "group", "version", "resource", "subresource", "scope", "component"}
	sli := family(t, families, "apiserver_request_sli_duration_seconds", dto.MetricType_HISTOGRAM, reqLabels...)
	atLeastOne(sli, map[string]string{"verb": "POST", "group": "", "version": "v1", "resource": "configmaps", "subresource": "",
		"scope": "resource", "component": "apiserver"})
	filtersF := family(t, families, "apiserver_request_filter_duration_seconds", dto.MetricType_HISTOGRAM, "filter")
	for _, name := range []string{"authentication", "audit", "constrainedimpersonation", "priorityandfairness", "authorization"} {
		atLeastOne(filtersF, map[string]string{"filter": name})
	}
	bodies := family(t, families, "apiserver_request_body_size_bytes", dto.MetricType_HISTOGRAM, "group", "resource", "verb")
	for _, verb := range []string{"create", "patch", "delete"} {
		atLeastOne(bodies, map[string]string{"group": "", "resource": "configmaps", "verb": verb})
	}
	if v := value(sample(family(t, families, "apiserver_requested_deprecated_apis", dto.MetricType_GAUGE,
		"group", "version", "resource", "subresource", "removed_release"),
		map[string]string{"group": "", "version": "v1", "resource": "endpoints", "subresource": "", "removed_release": ""})); v != 1 {
		t.Errorf("apiserver_requested_deprecated_apis of v1 endpoints = %v, want 1", v)
	}
	self := family(t, families, "apiserver_selfrequest_total", dto.MetricType_COUNTER, "verb", "group", "resource", "subresource")
	if len(self.Metric) == 0 {
		t.Errorf("apiserver_selfrequest_total has no sample")
	}
	atLeastOne(family(t, families, "apiserver_watch_list_duration_seconds", dto.MetricType_HISTOGRAM, "group", "version", "resource", "scope"),
		map[string]string{"group": "", "version": "v1", "resource": "configmaps", "scope": "namespace"})
	inqueue := family(t, families, "apiserver_current_inqueue_requests", dto.MetricType_GAUGE, "request_kind")
	for _, kind := range []string{"readOnly", "mutating"} {
		if sample(inqueue, map[string]string{"request_kind": kind}) == nil {
			t.Errorf("apiserver_current_inqueue_requests has no %s", kind)
		}
	}
	family(t, families, "apiserver_tls_handshake_errors_total", dto.MetricType_COUNTER)

	authnDur := family(t, families, "authentication_duration_seconds", dto.MetricType_HISTOGRAM, "result")
	attempts := family(t, families, "authentication_attempts", dto.MetricType_COUNTER, "result")
	for _, result := range []string{"success", "error"} {
		atLeastOne(authnDur, map[string]string{"result": result})
		atLeastOne(attempts, map[string]string{"result": result})
	}
	// kapi's administrator, kubernetes-admin, is none of kube's
	// well-known names.
	atLeastOne(family(t, families, "authenticated_user_requests", dto.MetricType_COUNTER, "username"), map[string]string{"username": "other"})
	authzAttempts := family(t, families, "authorization_attempts_total", dto.MetricType_COUNTER, "result")
	authzDur := family(t, families, "authorization_duration_seconds", dto.MetricType_HISTOGRAM, "result")
	for _, result := range []string{"allowed", "no-opinion"} {
		atLeastOne(authzAttempts, map[string]string{"result": result})
		atLeastOne(authzDur, map[string]string{"result": result})
	}
	// Only RBAC's terminal decisions count: not the system:masters
	// shortcut (every request of the administrator), not the no opinion
	// on nobody's list.
	decisions := family(t, families, "apiserver_authorization_decisions_total", dto.MetricType_COUNTER, "type", "name", "decision")
	atLeastOne(decisions, map[string]string{"type": "RBAC", "name": "rbac", "decision": "allowed"})
	if v := value(sample(decisions, map[string]string{"type": "RBAC", "name": "rbac", "decision": "denied"})); v != 0 {
		t.Errorf("RBAC denied %v times; it has no opinion on what it does not allow", v)
	}

	// The non-resource requests kube counts, with its labels, and those
	// it does not.
	requests := family(t, families, "apiserver_request_total", dto.MetricType_COUNTER,
		"verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component", "code")
	nonResource := func(subresource, component string) map[string]string {
		return map[string]string{"verb": "GET", "dry_run": "", "group": "", "version": "", "resource": "", "subresource": subresource,
			"scope": "", "component": component, "code": "200"}
	}
	for _, want := range []map[string]string{
		nonResource("/readyz", ""), nonResource("/livez", ""), nonResource("openapi/v3", ""), nonResource("openapi/v3/", ""),
		nonResource("api", "apiserver"), nonResource("apis", "apiserver"),
	} {
		atLeastOne(requests, want)
	}
	for _, name := range []string{"apiserver_request_total", "apiserver_request_duration_seconds", "apiserver_response_sizes",
		"apiserver_request_sli_duration_seconds", "apiserver_selfrequest_total"} {
		for _, m := range families[name].GetMetric() {
			for _, l := range m.Label {
				switch l.GetValue() {
				case "/version", "version", "/api/v1", "/apis/apps", "/openapi/v2", "/openapi/v3", "/api", "/apis", "/metrics":
					if l.GetName() == "subresource" {
						t.Errorf("%s counts %s, which kube-apiserver does not: %v", name, l.GetValue(), m.Label)
					}
				}
			}
		}
	}
}
