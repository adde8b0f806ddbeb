package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/features"
	"kapi/internal/server"
)

// TestFeatureGates: a kapi started with kube's gates that kapi honours
// turned off answers as kube-apiserver does with them off: a watch asking
// for its initial events is refused (WatchList), a large list is not
// gzipped though the client asks (APIResponseCompression), /statusz is
// not served (ComponentStatusz), discovery gives no storage version
// hashes (StorageVersionHash), and the identity Lease's loops and hooks
// are not there (APIServerIdentity). /metrics shows every gate
// (kubernetes_feature_enabled). TestContent, TestZpagesStatusz and
// TestCRDDiscoveryAndOpenAPI have the default answers.
func TestFeatureGates(t *testing.T) {
	t.Parallel()
	g := features.New()
	if err := g.Set("WatchList=false,APIResponseCompression=false,ComponentStatusz=false,StorageVersionHash=false," +
		"APIServerIdentity=false,UnknownVersionInteroperabilityProxy=false"); err != nil {
		t.Fatal(err)
	}
	k := startKapi(t, func(c *server.Config) { c.FeatureGates = g })
	ctx := context.Background()

	cms := "/api/v1/namespaces/default/configmaps"
	code, st, body := k.do(t, "GET", cms+"?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true", "", nil)
	if code != http.StatusUnprocessableEntity || st == nil || !strings.Contains(st.Message, "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled") {
		t.Errorf("a watch list with WatchList off: %d %s", code, body)
	}

	// Over 128 KiB, which a default kapi gzips (TestContent).
	createLargeConfigMaps(t, k, cms)
	resp := getAskingGzip(ctx, t, k, cms)
	raw, _ := io.ReadAll(resp.Body)
	if enc := resp.Header.Get("Content-Encoding"); enc != "" || len(raw) < 128<<10 || !strings.Contains(string(raw), `"big39"`) {
		t.Errorf("a large list with APIResponseCompression off: Content-Encoding %q, %d bytes", enc, len(raw))
	}

	res, err := k.client.Discovery().ServerResourcesForGroupVersion("v1")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.APIResources {
		if r.StorageVersionHash != "" {
			t.Errorf("%s has a storageVersionHash with StorageVersionHash off", r.Name)
		}
	}
	code, _, body = k.do(t, "GET", "/readyz?verbose", "", nil)
	if code != http.StatusOK || !strings.Contains(string(body), "poststarthook/start-legacy-token-tracking-controller ok") ||
		strings.Contains(string(body), "identity-lease") {
		t.Errorf("/readyz with APIServerIdentity off: %d\n%s", code, body)
	}
	leases, err := k.client.CoordinationV1().Leases("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "apiserver.kubernetes.io/identity"})
	if err != nil || len(leases.Items) != 0 {
		t.Errorf("identity Leases with APIServerIdentity off: %v %v", leases, err)
	}
	if code, _, _ := k.do(t, "GET", "/statusz", "", nil); code != http.StatusNotFound {
		t.Errorf("/statusz with ComponentStatusz off: %d", code)
	}
	// The gauge is the process's, which other kapis of this test binary
	// set to their gates too: its series, not its value, are this test's.
	for _, labels := range []string{`name="WatchList",stage="BETA"`, `name="InPlacePodVerticalScaling",stage=""`} {
		if v, err := metric(ctx, k.client, "kubernetes_feature_enabled", labels); err != nil || v < 0 {
			t.Errorf("kubernetes_feature_enabled{%s}: %v, %v", labels, v, err)
		}
	}
}
