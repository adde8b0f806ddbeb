package e2e

import (
	"strings"
	"testing"
)

// kubeHealthChecks are the checks kube 1.37's e2e spec "health handlers
// should contain necessary checks" requires of /healthz and /livez
// (test/e2e/apimachinery/health_handlers.go); /readyz has "informer-sync"
// besides.
var kubeHealthChecks = []string{
	"[+]ping ok", "[+]log ok", "[+]etcd ok",
	"[+]poststarthook/start-apiserver-admission-initializer ok",
	"[+]poststarthook/generic-apiserver-start-informers ok",
	"[+]poststarthook/start-apiextensions-informers ok",
	"[+]poststarthook/start-apiextensions-controllers ok",
	"[+]poststarthook/crd-informer-synced ok",
	"[+]poststarthook/bootstrap-controller ok",
	"[+]poststarthook/start-system-namespaces-controller ok",
	"[+]poststarthook/start-service-ip-repair-controllers ok",
	"[+]poststarthook/scheduling/bootstrap-system-priority-classes ok",
	"[+]poststarthook/start-cluster-authentication-info-controller ok",
	"[+]poststarthook/start-kube-aggregator-informers ok",
	"[+]poststarthook/apiservice-registration-controller ok",
	"[+]poststarthook/apiservice-status-local-available-controller ok",
	"[+]poststarthook/apiservice-status-remote-available-controller ok",
	"[+]poststarthook/kube-apiserver-autoregistration ok",
	"[+]autoregister-completion ok",
	"[+]poststarthook/apiservice-openapi-controller ok",
	"[+]poststarthook/storage-readiness ok",
	// Not in the spec's list, but in kube-apiserver 1.37's answer.
	"[+]poststarthook/rbac/bootstrap-roles ok",
	"[+]poststarthook/priority-and-fairness-filter ok",
	"[+]poststarthook/priority-and-fairness-config-consumer ok",
	"[+]poststarthook/priority-and-fairness-config-producer ok",
	"[+]poststarthook/storage-object-count-tracker-hook ok",
	"[+]poststarthook/apiservice-openapiv3-controller ok",
	"[+]poststarthook/apiservice-discovery-controller ok",
	"[+]poststarthook/start-kube-apiserver-identity-lease-controller ok",
	"[+]poststarthook/start-kube-apiserver-identity-lease-garbage-collector ok",
	"[+]poststarthook/start-legacy-token-tracking-controller ok",
}

// TestHealthChecks: /healthz, /livez and /readyz list kube-apiserver's
// checks by kube's names, each one answers on its own, and their results
// are kube's health SLIs at /metrics/slis.
func TestHealthChecks(t *testing.T) {
	t.Parallel()
	k := startKapi(t)
	for _, ep := range []string{"/healthz", "/livez", "/readyz"} {
		want := kubeHealthChecks
		if ep == "/readyz" {
			want = append(want, "[+]informer-sync ok", "[+]etcd-readiness ok")
		}
		var body string
		settle(t, ep+"?verbose", func() bool {
			code, _, b := k.do(t, "GET", ep+"?verbose", "", nil)
			body = string(b)
			return code == 200
		})
		lines := map[string]bool{}
		for _, l := range strings.Split(body, "\n") {
			lines[l] = true
		}
		for _, c := range want {
			if !lines[c] {
				t.Errorf("%s?verbose lacks %q:\n%s", ep, c, body)
			}
		}
	}
	for _, p := range []string{"/readyz/informer-sync", "/livez/autoregister-completion", "/healthz/poststarthook/storage-readiness", "/readyz/log"} {
		if code, _, body := k.do(t, "GET", p, "", nil); code != 200 || string(body) != "ok" {
			t.Errorf("%s: %d %q", p, code, body)
		}
	}
	code, _, body := k.do(t, "GET", "/metrics/slis", "", nil)
	for _, want := range []string{
		`# TYPE kubernetes_healthcheck gauge`,
		`kubernetes_healthcheck{name="etcd",type="readyz"} 1`,
		`kubernetes_healthcheck{name="autoregister-completion",type="healthz"} 1`,
		`kubernetes_healthchecks_total{name="informer-sync",status="success",type="readyz"}`,
		`process_start_time_seconds`,
	} {
		if code != 200 || !strings.Contains(string(body), want) {
			t.Errorf("/metrics/slis: %d, lacks %q", code, want)
		}
	}
}
