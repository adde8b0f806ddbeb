package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kube-openapi/pkg/spec3"
)

// TestCRDDiscoveryAndOpenAPI: a CRD shows in legacy and aggregated
// discovery and in both OpenAPI documents as soon as it is Established;
// a change (a new version, a deprecated one, a new field) shows at once;
// its deletion takes it out of all of them.
func TestCRDDiscoveryAndOpenAPI(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	crd := k.createCRD(t, widgetCRD())

	// Legacy discovery.
	groups, err := k.client.Discovery().ServerGroups()
	if err != nil {
		t.Fatal(err)
	}
	var group *metav1.APIGroup
	for i := range groups.Groups {
		if groups.Groups[i].Name == "example.com" {
			group = &groups.Groups[i]
		}
	}
	if group == nil || group.PreferredVersion.Version != "v1" {
		t.Fatalf("example.com in /apis: %+v", group)
	}
	list, err := k.client.Discovery().ServerResourcesForGroupVersion("example.com/v1")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]metav1.APIResource{}
	for _, r := range list.APIResources {
		byName[r.Name] = r
	}
	w := byName["widgets"]
	if w.Kind != "Widget" || !w.Namespaced || w.SingularName != "widget" || strings.Join(w.ShortNames, ",") != "wd" ||
		strings.Join(w.Categories, ",") != "all" || len(w.Verbs) != 8 || w.StorageVersionHash == "" {
		t.Errorf("widgets in discovery: %+v", w)
	}
	if s := byName["widgets/status"]; s.Kind != "Widget" || strings.Join(s.Verbs, ",") != "get,patch,update" {
		t.Errorf("widgets/status: %+v", s)
	}
	if s := byName["widgets/scale"]; s.Kind != "Scale" || s.Group != "autoscaling" || s.Version != "v1" {
		t.Errorf("widgets/scale: %+v", s)
	}

	// Aggregated discovery.
	agg := func() *apidiscoveryv2.APIGroupDiscovery {
		t.Helper()
		_, _, body := k.do(t, "GET", "/apis", "", nil, "Accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
		var l apidiscoveryv2.APIGroupDiscoveryList
		if err := json.Unmarshal(body, &l); err != nil {
			t.Fatal(err)
		}
		for i := range l.Items {
			if l.Items[i].Name == "example.com" {
				return &l.Items[i]
			}
		}
		return nil
	}
	g := agg()
	if g == nil || len(g.Versions) != 1 || len(g.Versions[0].Resources) != 1 || g.Versions[0].Resources[0].Resource != "widgets" ||
		len(g.Versions[0].Resources[0].Subresources) != 2 {
		t.Fatalf("example.com in aggregated discovery: %+v", g)
	}

	// OpenAPI v3: the schema with its kind, and the paths.
	doc := openapiV3(t, k, "apis/example.com/v1")
	s, ok := doc.Components.Schemas["com.example.v1.Widget"]
	if !ok {
		t.Fatalf("no com.example.v1.Widget in %v", keys(doc.Components.Schemas))
	}
	if gvks, _ := s.Extensions["x-kubernetes-group-version-kind"].([]interface{}); len(gvks) != 1 {
		t.Errorf("Widget's x-kubernetes-group-version-kind: %v", s.Extensions)
	}
	// A reference with a description is an allOf in v3, as kube-openapi
	// writes it.
	meta := s.Properties["metadata"]
	if _, ok := s.Properties["spec"].Properties["color"]; !ok || len(meta.AllOf) != 1 || meta.AllOf[0].Ref.String() != "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" {
		t.Errorf("Widget's schema: %+v", s.Properties)
	}
	if _, ok := doc.Components.Schemas["com.example.v1.WidgetList"]; !ok {
		t.Error("no WidgetList schema")
	}
	for _, p := range []string{"/apis/example.com/v1/namespaces/{namespace}/widgets", "/apis/example.com/v1/namespaces/{namespace}/widgets/{name}/scale", "/apis/example.com/v1/widgets"} {
		if doc.Paths.Paths[p] == nil {
			t.Errorf("no path %s", p)
		}
	}
	if _, _, v2 := k.do(t, "GET", "/openapi/v2", "", nil, "Accept", "application/json"); !strings.Contains(string(v2), `"com.example.v1.Widget"`) {
		t.Error("/openapi/v2 has no com.example.v1.Widget")
	}

	// A change: a second, deprecated version and a new field.
	cur, err := k.crdClient().ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crd.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spec := cur.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
	spec.Properties["weight"] = apiextensionsv1.JSONSchemaProps{Type: "integer", Description: "How heavy."}
	cur.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"] = spec
	v1beta1 := *cur.Spec.Versions[0].DeepCopy()
	v1beta1.Name, v1beta1.Storage, v1beta1.Deprecated = "v1beta1", false, true
	cur.Spec.Versions = append(cur.Spec.Versions, v1beta1)
	if _, err := k.crdClient().ApiextensionsV1().CustomResourceDefinitions().Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := waitUntil(5*time.Second, func() bool {
		d := openapiV3(t, k, "apis/example.com/v1")
		_, ok := d.Components.Schemas["com.example.v1.Widget"].Properties["spec"].Properties["weight"]
		return ok
	}); err != nil {
		t.Error("the new field is not in /openapi/v3")
	}
	if out := k.mustKubectl("", "explain", "widgets.spec.weight"); !strings.Contains(out, "How heavy.") {
		t.Errorf("explain of the new field:\n%s", out)
	}
	g = agg()
	if g == nil || len(g.Versions) != 2 || g.Versions[0].Version != "v1" || g.Versions[1].Version != "v1beta1" {
		t.Errorf("versions in aggregated discovery: %+v", g)
	}
	code, _, _ := k.do(t, "GET", "/apis/example.com/v1beta1/namespaces/default/widgets", "", nil)
	if code != 200 {
		t.Errorf("the new version: %d", code)
	}
	var warnings []string
	cfg := *k.rest
	cfg.WarningHandler = warningRecorder{&warnings}
	if _, err := k.dynamicFor(&cfg).Resource(crGVR(cur, "v1beta1")).Namespace("default").List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || warnings[0] != "example.com/v1beta1 Widget is deprecated" {
		t.Errorf("deprecation warnings %q", warnings)
	}

	// Deleted: gone from discovery and OpenAPI.
	if err := k.crdClient().ApiextensionsV1().CustomResourceDefinitions().Delete(ctx, crd.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := waitUntil(10*time.Second, func() bool { return agg() == nil }); err != nil {
		t.Error("example.com is still in aggregated discovery")
	}
	if _, err := k.client.Discovery().ServerResourcesForGroupVersion("example.com/v1"); err == nil {
		t.Error("example.com/v1 is still in discovery")
	}
	if code, _, _ := k.do(t, "GET", "/openapi/v3/apis/example.com/v1", "", nil); code != 404 {
		t.Errorf("/openapi/v3/apis/example.com/v1 after the CRD went: %d", code)
	}
	if _, _, v2 := k.do(t, "GET", "/openapi/v2", "", nil, "Accept", "application/json"); strings.Contains(string(v2), `"com.example.v1.Widget"`) {
		t.Error("/openapi/v2 still has com.example.v1.Widget")
	}
}

// openapiV3 reads the v3 document of a root through the index's hash
// URL, as kubectl does.
func openapiV3(t *testing.T, k *kapi, root string) *spec3.OpenAPI {
	t.Helper()
	_, _, body := k.do(t, "GET", "/openapi/v3", "", nil)
	var index struct {
		Paths map[string]struct {
			ServerRelativeURL string `json:"serverRelativeURL"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(body, &index); err != nil {
		t.Fatal(err)
	}
	p, ok := index.Paths[root]
	if !ok {
		t.Fatalf("no %s in the v3 index", root)
	}
	code, _, body := k.do(t, "GET", p.ServerRelativeURL, "", nil)
	var doc spec3.OpenAPI
	if err := json.Unmarshal(body, &doc); code != 200 || err != nil {
		t.Fatalf("GET %s: %d %v", p.ServerRelativeURL, code, err)
	}
	return &doc
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
