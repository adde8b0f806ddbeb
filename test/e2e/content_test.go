package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

// TestProtobufClient: a client-go that speaks protobuf creates, reads,
// lists and watches.
func TestProtobufClient(t *testing.T) {
	k := startKapi(t, withoutLoops(rootCAPublisher))
	cfg := rest.CopyConfig(k.rest)
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf
	c := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	cms := c.CoreV1().ConfigMaps("default")
	w, err := cms.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "pb"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := cms.Get(ctx, "pb", metav1.GetOptions{})
	if err != nil || got.Data["k"] != "v" {
		t.Fatalf("get: %v %+v", err, got)
	}
	list, err := cms.List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("list: %v %+v", err, list)
	}
	select {
	case ev := <-w.ResultChan():
		if cm, ok := ev.Object.(*corev1.ConfigMap); !ok || cm.Name != "pb" {
			t.Fatalf("watch event %s %#v", ev.Type, ev.Object)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no protobuf watch event")
	}
}

// TestContentTypes: YAML in and out, Table, PartialObjectMetadata (one and
// a list), and gzip for a large response.
func TestContentTypes(t *testing.T) {
	k := startKapi(t, withoutLoops(rootCAPublisher))
	cms := "/api/v1/namespaces/default/configmaps"
	code, _, body := k.do(t, "POST", cms, "application/yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yamlcm\ndata:\n  k: v\n"), "Accept", "application/yaml")
	if code != 201 || !strings.Contains(string(body), "name: yamlcm") {
		t.Fatalf("YAML create: %d\n%s", code, body)
	}
	var cm corev1.ConfigMap
	if err := yaml.Unmarshal(body, &cm); err != nil || cm.Data["k"] != "v" {
		t.Fatalf("YAML answer: %v\n%s", err, body)
	}

	code, _, body = k.do(t, "GET", cms+"/yamlcm", "", nil, "Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
	var table metav1.Table
	if err := json.Unmarshal(body, &table); code != 200 || err != nil || table.Kind != "Table" {
		t.Fatalf("Table: %d %v\n%s", code, err, body)
	}
	if len(table.ColumnDefinitions) < 3 || table.ColumnDefinitions[0].Name != "Name" || table.ColumnDefinitions[1].Name != "Data" ||
		len(table.Rows) != 1 || table.Rows[0].Cells[0] != "yamlcm" {
		t.Fatalf("Table: %s", body)
	}

	code, _, body = k.do(t, "GET", cms+"/yamlcm", "", nil, "Accept", "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io")
	var pom metav1.PartialObjectMetadata
	if err := json.Unmarshal(body, &pom); code != 200 || err != nil || pom.Kind != "PartialObjectMetadata" || pom.Name != "yamlcm" || strings.Contains(string(body), `"data"`) {
		t.Fatalf("PartialObjectMetadata: %d %v\n%s", code, err, body)
	}
	code, _, body = k.do(t, "GET", cms, "", nil, "Accept", "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io")
	var poml metav1.PartialObjectMetadataList
	if err := json.Unmarshal(body, &poml); code != 200 || err != nil || poml.Kind != "PartialObjectMetadataList" || len(poml.Items) != 1 {
		t.Fatalf("PartialObjectMetadataList: %d %v\n%s", code, err, body)
	}
	if code, st, _ := k.do(t, "GET", cms, "", nil, "Accept", "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io"); code != 406 || st == nil {
		t.Fatalf("a list as PartialObjectMetadata: %d", code)
	}
	if code, st, _ := k.do(t, "GET", cms, "", nil, "Accept", "text/html"); code != 406 || st == nil || st.Reason != metav1.StatusReasonNotAcceptable {
		t.Fatalf("Accept text/html: %d %v", code, st)
	}

	// Over 128 KiB: gzip when asked.
	createLargeConfigMaps(t, k, cms)
	resp := getAskingGzip(context.Background(), t, k, cms)
	raw, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("large list without gzip: %s, %d bytes", resp.Header, len(raw))
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	var list corev1.ConfigMapList
	if err := json.Unmarshal(plain, &list); err != nil || len(list.Items) != 41 {
		t.Fatalf("gzipped list: %v, %d items", err, len(list.Items))
	}
}

// TestDiscovery: legacy and aggregated discovery describe the catalogue.
func TestDiscovery(t *testing.T) {
	k := startKapi(t)
	res, err := k.client.Discovery().ServerResourcesForGroupVersion("v1")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]metav1.APIResource{}
	for _, r := range res.APIResources {
		found[r.Name] = r
	}
	if cm := found["configmaps"]; !cm.Namespaced || cm.Kind != "ConfigMap" || len(cm.ShortNames) != 1 || cm.ShortNames[0] != "cm" {
		t.Fatalf("configmaps: %+v", cm)
	}
	if _, ok := found["pods/status"]; !ok {
		t.Fatal("no pods/status")
	}
	groups, err := k.client.Discovery().ServerGroups()
	if err != nil {
		t.Fatal(err)
	}
	preferred := map[string]string{}
	for _, g := range groups.Groups {
		preferred[g.Name] = g.PreferredVersion.Version
	}
	if preferred["apps"] != "v1" || preferred["autoscaling"] != "v2" {
		t.Fatalf("preferred versions %v", preferred)
	}

	code, _, body := k.do(t, "GET", "/apis", "", nil, "Accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")
	var agg apidiscoveryv2.APIGroupDiscoveryList
	if err := json.Unmarshal(body, &agg); code != 200 || err != nil || agg.Kind != "APIGroupDiscoveryList" || len(agg.Items) < 15 {
		t.Fatalf("aggregated /apis: %d %v %.300s", code, err, body)
	}
	hc, _ := rest.HTTPClientFor(k.rest)
	req, _ := http.NewRequest("GET", k.srv.URL+"/api", nil)
	req.Header.Set("Accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList" {
		t.Fatalf("aggregated /api Content-Type %q", ct)
	}
	for _, p := range []string{"/healthz", "/livez", "/readyz"} {
		if code, _, body := k.do(t, "GET", p, "", nil); code != 200 || string(body) != "ok" {
			t.Errorf("%s: %d %q", p, code, body)
		}
	}
	if code, _, body := k.do(t, "GET", "/readyz?verbose", "", nil); code != 200 || !strings.Contains(string(body), "[+]etcd ok") || !strings.Contains(string(body), "readyz check passed") {
		t.Errorf("/readyz?verbose: %d %s", code, body)
	}
	// /version as kube's: emulating its own minor, compatible with the
	// one before.
	v, err := k.client.Discovery().ServerVersion()
	if err != nil || v.Major != "1" || v.EmulationMajor != "1" || v.EmulationMinor != v.Minor || v.MinCompatibilityMajor != "1" ||
		v.MinCompatibilityMinor != strconv.Itoa(minorOf(t, v.Minor)-1) {
		t.Errorf("/version: %v %+v", err, v)
	}
	// Nothing served at a path: kube's 404, whose details are there and
	// empty (kubectl reads them).
	if code, _, body := k.do(t, "GET", "/api/v1/namespaces/default/pods/p/nothing", "", nil); code != 404 ||
		!strings.Contains(string(body), `"details":{}`) || !strings.Contains(string(body), `"message":"the server could not find the requested resource"`) {
		t.Errorf("unknown subresource: %d %s", code, body)
	}
	// A label selector that does not parse: the parser's words, once.
	_, perr := labels.Parse("a in (")
	if code, _, body := k.do(t, "GET", "/api/v1/namespaces/default/configmaps?labelSelector=a%20in%20(", "", nil); code != 400 ||
		!strings.Contains(string(body), `"message":"`+strings.ReplaceAll(perr.Error(), `"`, `\"`)+`"`) {
		t.Errorf("bad label selector: %d %s, want the message %q", code, body, perr)
	}
	// One check is kube's adaptCheckToHandler: "ok", or 404 for a check
	// the endpoint has not.
	for p, want := range map[string]int{"/readyz/etcd": 200, "/livez/etcd": 200, "/healthz/ping": 200, "/readyz/nothing": 404} {
		code, _, body := k.do(t, "GET", p, "", nil)
		if code != want || (want == 200 && string(body) != "ok") {
			t.Errorf("%s: %d %q", p, code, body)
		}
	}
	// kube's post-start hook check, on all three: /healthz is not 200
	// before the custom resources are served.
	for _, p := range []string{"/healthz", "/livez", "/readyz"} {
		if code, _, body := k.do(t, "GET", p+"?verbose", "", nil); code != 200 || !strings.Contains(string(body), "[+]poststarthook/crd-informer-synced ok") {
			t.Errorf("%s?verbose: %d %s", p, code, body)
		}
	}
}

func minorOf(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("minor version %q: %v", s, err)
	}
	return n
}

// createLargeConfigMaps creates 40 ConfigMaps of 4 KiB at cms (their
// collection's path): a list of them is over the 128 KiB from which kapi
// gzips an answer.
func createLargeConfigMaps(t *testing.T, k *kapi, cms string) {
	t.Helper()
	for i := range 40 {
		cm := fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big%d"},"data":{"a":"%s"}}`, i, strings.Repeat("x", 4096))
		if code, _, body := k.do(t, "POST", cms, "application/json", []byte(cm)); code != 201 {
			t.Fatalf("create: %d %s", code, body)
		}
	}
}

// getAskingGzip GETs path (a watch too) asking for gzip itself, so that
// the transport leaves the body as sent; the answer must be 200. The body
// is closed when the test ends.
func getAskingGzip(ctx context.Context, t *testing.T, k *kapi, path string) *http.Response {
	t.Helper()
	hc, err := rest.HTTPClientFor(k.rest)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", k.srv.URL+path, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := hc.Transport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
	}
	return resp
}
