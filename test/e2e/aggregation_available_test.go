package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	"k8s.io/client-go/discovery"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
)

// TestAggregationAvailability: the Available condition of APIServices
// with a service, with kube's reasons (Passed; ServiceNotFound, also once
// the service of a passing one is deleted; MissingEndpoints;
// FailedDiscoveryCheck when the server answers 500); an unavailable
// group answers 503 with a Status while the others' discovery works
// (kubectl api-resources); /apis orders groups by groupPriorityMinimum.
func TestAggregationAvailability(t *testing.T) {
	k := startKapi(t, aggAllowLoopback)
	ctx := context.Background()

	// A server that answers discovery: Passed. Its priority puts it
	// first in /apis, after apiregistration.k8s.io (18000), before apps (17800).
	good := startAggExtension(t, k, "ext", "good", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/redirect") {
			http.Redirect(w, r, "https://elsewhere.example.com/", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(metav1.APIResourceList{GroupVersion: "good.example.com/v1", APIResources: []metav1.APIResource{}})
	}))
	aggService(t, k, "ext", "good", good.Port, true)
	aggAPIService(t, k, "good.example.com", "v1", "ext", "good", good.CA, 17900, 10)
	aggWaitCondition(t, k, "v1.good.example.com", "Passed", "all checks passed")
	// Its redirect is not passed on (--aggregator-reject-forwarding-redirect,
	// true by default as in kube): a 502 with kube's words.
	hc, err := rest.HTTPClientFor(k.rest)
	if err != nil {
		t.Fatal(err)
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Get(k.rest.Host + "/apis/good.example.com/v1/redirect")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || string(body) != "the backend attempted to redirect this request, which is not permitted" {
		t.Errorf("an extension's redirect: %d %q", resp.StatusCode, body)
	}

	// A server that fails its discovery: FailedDiscoveryCheck, and a 503
	// Status for requests of the group.
	bad := startAggExtension(t, k, "ext", "bad", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "broken", http.StatusInternalServerError)
	}))
	aggService(t, k, "ext", "bad", bad.Port, true)
	aggAPIService(t, k, "bad.example.com", "v1", "ext", "bad", bad.CA, 100, 10)
	aggWaitCondition(t, k, "v1.bad.example.com", "FailedDiscoveryCheck", "bad status from https://127.0.0.1:")
	_, err = k.dynamic.Resource(schema.GroupVersionResource{Group: "bad.example.com", Version: "v1", Resource: "things"}).List(ctx, metav1.ListOptions{})
	if !apierrors.IsServiceUnavailable(err) || !strings.Contains(err.Error(), "service unavailable") {
		t.Fatalf("a request of the unavailable group: %v", err)
	}

	// No service, no ready endpoint.
	aggAPIService(t, k, "none.example.com", "v1", "ext", "none", nil, 100, 10)
	aggWaitCondition(t, k, "v1.none.example.com", "ServiceNotFound", `service/none in "ext" is not present`)
	aggService(t, k, "ext", "unready", good.Port, false)
	aggAPIService(t, k, "unready.example.com", "v1", "ext", "unready", good.CA, 100, 10)
	aggWaitCondition(t, k, "v1.unready.example.com", "MissingEndpoints", `endpointslices for service/unready in "ext" have no addresses with port name "https"`)

	// Aggregated discovery lists what failed as stale, without resources,
	// as kube's discovery manager: client-go reports that group-version's
	// discovery as failed and the others' as usual; kubectl's cached
	// discovery leaves it out (kubectl api-resources works).
	if err := waitUntil(30*time.Second, func() bool {
		b, err := k.client.Discovery().RESTClient().Get().AbsPath("/apis").
			SetHeader("Accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList").DoRaw(ctx)
		var agg apidiscoveryv2.APIGroupDiscoveryList
		if err != nil || json.Unmarshal(b, &agg) != nil {
			return false
		}
		for _, g := range agg.Items {
			if g.Name == "bad.example.com" {
				return len(g.Versions) == 1 && g.Versions[0].Freshness == apidiscoveryv2.DiscoveryFreshnessStale && g.Versions[0].Resources == nil
			}
		}
		return false
	}); err != nil {
		t.Fatal("aggregated discovery lacks bad.example.com/v1 as stale")
	}
	_, lists, err := k.client.Discovery().ServerGroupsAndResources()
	var failed *discovery.ErrGroupDiscoveryFailed
	if !errors.As(err, &failed) || !errors.As(failed.Groups[schema.GroupVersion{Group: "bad.example.com", Version: "v1"}], new(discovery.StaleGroupVersionError)) {
		t.Fatalf("client-go's discovery: %v", err)
	}
	if !slices.ContainsFunc(lists, func(l *metav1.APIResourceList) bool { return l.GroupVersion == "apps/v1" }) {
		t.Fatal("client-go's discovery lacks apps/v1")
	}
	if out, err := k.kubectl("", "api-resources"); err != nil || !strings.Contains(out, "deployments") {
		t.Fatalf("kubectl api-resources: %v\n%s", err, out)
	}
	// The legacy /apis lists every group, available or not.
	raw, err := aggregatorRaw(t, k.rest, "/apis")
	if err != nil {
		t.Fatal(err)
	}
	var groups metav1.APIGroupList
	if err := json.Unmarshal(raw, &groups); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range groups.Groups {
		names = append(names, g.Name)
	}
	order := strings.Join(names, " ")
	if !strings.HasPrefix(order, "apiregistration.k8s.io good.example.com apps ") || !strings.Contains(order, "bad.example.com") ||
		strings.Index(order, "bad.example.com") < strings.Index(order, "storage.k8s.io") {
		t.Fatalf("/apis groups in the wrong order: %s", order)
	}

	// The service of the passing one goes: ServiceNotFound.
	if err := k.client.CoreV1().Services("ext").Delete(ctx, "good", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	aggWaitCondition(t, k, "v1.good.example.com", "ServiceNotFound", `service/good in "ext" is not present`)

	// kube-aggregator's metrics, which kube-prometheus' alerts read: 1 for
	// each unavailable APIService and 0 for the others, local ones
	// included; a count of the passing one turning unavailable, by reason,
	// and none for those that never were available.
	gauges := map[string]float64{"v1.good.example.com": 1, "v1.bad.example.com": 1, "v1.none.example.com": 1,
		"v1.unready.example.com": 1, "v1.apps": 0, "v1.": 0}
	if err := waitUntil(30*time.Second, func() bool {
		for name, want := range gauges {
			if v, err := metric(ctx, k.client, "aggregator_unavailable_apiservice", `name="`+name+`"`); err != nil || v != want {
				return false
			}
		}
		return true
	}); err != nil {
		for name := range gauges {
			v, err := metric(ctx, k.client, "aggregator_unavailable_apiservice", `name="`+name+`"`)
			t.Errorf("aggregator_unavailable_apiservice{name=%q} = %v (%v), want %v", name, v, err, gauges[name])
		}
	}
	for labels, want := range map[string]float64{
		`name="v1.good.example.com",reason="ServiceNotFound"`:     1,
		`name="v1.bad.example.com",reason="FailedDiscoveryCheck"`: -1, // absent
		`name="v1.none.example.com",reason="ServiceNotFound"`:     -1,
	} {
		if v, err := metric(ctx, k.client, "aggregator_unavailable_apiservice_total", labels); err != nil || v != want {
			t.Errorf("aggregator_unavailable_apiservice_total{%s} = %v (%v), want %v (-1: absent)", labels, v, err, want)
		}
	}
}
