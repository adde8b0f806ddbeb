package openapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	openapi_v3 "github.com/google/gnostic-models/openapiv3"
	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/openapi3"
	"k8s.io/client-go/rest"
	"k8s.io/kube-openapi/pkg/spec3"
	openapiproto "k8s.io/kube-openapi/pkg/util/proto"
	"k8s.io/kube-openapi/pkg/validation/spec"
	explainv2 "k8s.io/kubectl/pkg/explain/v2"

	"kapi/internal/registry"
	"kapi/internal/registry/builtin"
	"kapi/internal/registry/schemas"
)

var (
	deploymentGVK = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	podGVK        = schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
)

// server serves the documents of the GA catalogue; built once, as kapi
// does, and shared by the tests.
var server = sync.OnceValue(func() *httptest.Server {
	d, err := New(catalogueOf(gaResources()))
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	for pattern, h := range d.Handlers() {
		mux.Handle(pattern, h)
	}
	return httptest.NewServer(mux)
})

func get(t *testing.T, path string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", server().URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	// Redirects are part of what is tested.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func body(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func discoveryClient(t *testing.T) *discovery.DiscoveryClient {
	t.Helper()
	c, err := discovery.NewDiscoveryClientForConfig(&rest.Config{Host: server().URL})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestV2(t *testing.T) {
	resp := get(t, "/openapi/v2", "Accept", "application/json")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi/v2: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	raw := body(t, resp)
	var sw spec.Swagger
	if err := json.Unmarshal(raw, &sw); err != nil {
		t.Fatal(err)
	}
	// v2 has no defaults, as kube-apiserver's; v3 keeps them.
	if bytes.Contains(raw, []byte(`"default":{}`)) {
		t.Error("v2 document has defaults")
	}

	def, ok := sw.Definitions["io.k8s.api.apps.v1.Deployment"]
	if !ok {
		t.Fatal("no definition io.k8s.api.apps.v1.Deployment")
	}
	want := []any{map[string]any{"group": "apps", "version": "v1", "kind": "Deployment"}}
	if got := def.Extensions[schemas.ExtGVK]; !reflect.DeepEqual(got, want) {
		t.Errorf("Deployment x-kubernetes-group-version-kind = %v, want %v", got, want)
	}
	if _, ok := sw.Definitions["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]; !ok {
		t.Error("no definition io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
	}

	path, ok := sw.Paths.Paths["/apis/apps/v1/namespaces/{namespace}/deployments"]
	if !ok || path.Post == nil {
		t.Fatal("no POST /apis/apps/v1/namespaces/{namespace}/deployments")
	}
	post := path.Post
	if post.ID != "createAppsV1NamespacedDeployment" || post.Extensions[extAction] != "post" {
		t.Errorf("POST: operationId %q, x-kubernetes-action %v", post.ID, post.Extensions[extAction])
	}
	params := v2Params(t, &sw, post.Parameters)
	for _, name := range []string{"fieldValidation", "dryRun", "fieldManager"} {
		if params[name] != "query" {
			t.Errorf("POST has no query parameter %s: %v", name, params)
		}
	}

	patch := sw.Paths.Paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"].Patch
	if patch == nil {
		t.Fatal("no PATCH of a deployment")
	}
	if !reflect.DeepEqual(patch.Consumes, patchTypes) {
		t.Errorf("PATCH consumes %v, want %v", patch.Consumes, patchTypes)
	}
	if params := v2Params(t, &sw, patch.Parameters); params["fieldValidation"] != "query" || params["force"] != "query" {
		t.Errorf("PATCH parameters %v", params)
	}
	if gvk := patch.Extensions[schemas.ExtGVK].(map[string]any); gvk["kind"] != "Deployment" || gvk["group"] != "apps" {
		t.Errorf("PATCH x-kubernetes-group-version-kind = %v", gvk)
	}
	status := sw.Paths.Paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status"].Put
	if status == nil || status.ID != "replaceAppsV1NamespacedDeploymentStatus" || status.Extensions[schemas.ExtGVK].(map[string]any)["kind"] != "Deployment" {
		t.Errorf("PUT of deployments/status: %+v", status)
	}
	// The scale subresource is served, and documented as an
	// autoscaling/v1 Scale.
	scale := sw.Paths.Paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"].Put
	if scale == nil || scale.Extensions[schemas.ExtGVK].(map[string]any)["kind"] != "Scale" {
		t.Errorf("PUT of deployments/scale: %+v", scale)
	}
}

// v2Params maps the names of an operation's parameters to where they go,
// following references to the document's shared parameters.
func v2Params(t *testing.T, sw *spec.Swagger, params []spec.Parameter) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range params {
		if ref := p.Ref.String(); ref != "" {
			shared, ok := sw.Parameters[strings.TrimPrefix(ref, "#/parameters/")]
			if !ok {
				t.Fatalf("dangling parameter reference %s", ref)
			}
			p = shared
		}
		out[p.Name] = p.In
	}
	return out
}

// TestV2Protobuf reads /openapi/v2 as kubectl does (discovery's
// OpenAPISchema asks for protobuf), and asks kubectl's field-validation
// probe whether deployments and pods take fieldValidation.
func TestV2Protobuf(t *testing.T) {
	resp := get(t, "/openapi/v2", "Accept", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf")
	if ct := resp.Header.Get("Content-Type"); ct != mediaV2Proto {
		t.Fatalf("Content-Type %q", ct)
	}
	var doc openapi_v2.Document
	if err := proto.Unmarshal(body(t, resp), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.GetPaths() == nil || doc.GetDefinitions() == nil || doc.GetInfo().GetTitle() != "Kubernetes" {
		t.Fatalf("protobuf document lacks paths, definitions or info")
	}

	// kubectl's v2 models (explain --output plaintext-openapiv2,
	// client-side validation) resolve every reference.
	models, err := openapiproto.NewOpenAPIData(&doc)
	if err != nil {
		t.Fatalf("kubectl's v2 models: %v", err)
	}
	if models.LookupModel("io.k8s.api.apps.v1.Deployment") == nil {
		t.Error("kubectl's v2 models have no Deployment")
	}

	dc := discoveryClient(t)
	if _, err := dc.OpenAPISchema(); err != nil {
		t.Fatalf("discovery OpenAPISchema: %v", err)
	}
	v := resource.NewQueryParamVerifier(nil, dc, resource.QueryParamFieldValidation)
	for _, gvk := range []schema.GroupVersionKind{deploymentGVK, podGVK} {
		if err := v.HasSupport(gvk); err != nil {
			t.Errorf("kubectl's v2 fieldValidation probe for %v: %v", gvk, err)
		}
	}
}

func TestV3(t *testing.T) {
	resp := get(t, "/openapi/v3")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi/v3: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var index v3Discovery
	if err := json.Unmarshal(body(t, resp), &index); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"api", "api/v1", "apis", "apis/apps", "apis/apps/v1", "version"} {
		if _, ok := index.Paths[name]; !ok {
			t.Errorf("index lacks %s", name)
		}
	}
	url := index.Paths["apis/apps/v1"].ServerRelativeURL
	if !strings.HasPrefix(url, "/openapi/v3/apis/apps/v1?hash=") || len(url) <= len("/openapi/v3/apis/apps/v1?hash=") {
		t.Fatalf("apis/apps/v1 at %q", url)
	}

	resp = get(t, url)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "public, immutable" {
		t.Errorf("Cache-Control %q, want public, immutable", cc)
	}
	if resp.Header.Get("Expires") == "" {
		t.Error("no Expires")
	}
	var doc spec3.OpenAPI
	if err := json.Unmarshal(body(t, resp), &doc); err != nil {
		t.Fatal(err)
	}
	d, ok := doc.Components.Schemas["io.k8s.api.apps.v1.Deployment"]
	if !ok {
		t.Fatal("apps/v1 has no io.k8s.api.apps.v1.Deployment")
	}
	if _, ok := d.Properties["spec"]; !ok {
		t.Error("Deployment schema has no spec")
	}
	if doc.Paths.Paths["/apis/apps/v1/namespaces/{namespace}/deployments"] == nil {
		t.Error("apps/v1 has no deployments path")
	}
	// The meta kinds of every group are narrowed to this one and core/v1.
	if got := len(doc.Components.Schemas["io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"].Extensions[schemas.ExtGVK].([]any)); got != 2 {
		t.Errorf("DeleteOptions has %d group-version-kinds in apps/v1, want 2", got)
	}

	// Without the hash the document is not cacheable for good.
	resp = get(t, "/openapi/v3/apis/apps/v1")
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") == "public, immutable" {
		t.Errorf("without hash: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	// An old hash redirects to the current document.
	resp = get(t, "/openapi/v3/apis/apps/v1?hash=0123")
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != url {
		t.Errorf("old hash: %d to %q, want 301 to %q", resp.StatusCode, resp.Header.Get("Location"), url)
	}
	if resp := get(t, "/openapi/v3/apis/nosuch.k8s.io/v1"); resp.StatusCode != 404 {
		t.Errorf("unknown group version: %d", resp.StatusCode)
	}
}

func TestV3Protobuf(t *testing.T) {
	resp := get(t, "/openapi/v3/api/v1", "Accept", "application/com.github.proto-openapi.spec.v3@v1.0+protobuf")
	if ct := resp.Header.Get("Content-Type"); ct != mediaV3Proto {
		t.Fatalf("Content-Type %q", ct)
	}
	var doc openapi_v3.Document
	if err := proto.Unmarshal(body(t, resp), &doc); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range doc.GetComponents().GetSchemas().GetAdditionalProperties() {
		found = found || s.GetName() == "io.k8s.api.core.v1.Pod"
	}
	if !found {
		t.Error("api/v1 protobuf has no io.k8s.api.core.v1.Pod")
	}
	if resp := get(t, "/openapi/v3/api/v1", "Accept", "text/html"); resp.StatusCode != http.StatusNotAcceptable {
		t.Errorf("Accept text/html: %d, want 406", resp.StatusCode)
	}
}

// TestKubectl reads the v3 documents with the code kubectl uses: the
// OpenAPI v3 client (index, then hash URL), kubectl apply's
// field-validation probe, and kubectl explain's renderer.
func TestKubectl(t *testing.T) {
	client := discoveryClient(t).OpenAPIV3()
	root := openapi3.NewRoot(client)
	doc, err := root.GVSpec(deploymentGVK.GroupVersion())
	if err != nil {
		t.Fatal(err)
	}
	if doc.Components.Schemas["io.k8s.api.apps.v1.Deployment"] == nil {
		t.Error("kubectl's v3 client found no Deployment schema")
	}

	v := resource.NewQueryParamVerifierV3(nil, client, resource.QueryParamFieldValidation)
	for _, gvk := range []schema.GroupVersionKind{deploymentGVK, podGVK} {
		if err := v.HasSupport(gvk); err != nil {
			t.Errorf("kubectl's v3 fieldValidation probe for %v: %v", gvk, err)
		}
	}

	var out bytes.Buffer
	gvr := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	if err := explainv2.PrintModelDescription([]string{"spec"}, &out, client, gvr, false, 0, "plaintext"); err != nil {
		t.Fatalf("explain deployment.spec: %v", err)
	}
	for _, want := range []string{"KIND:       Deployment", "FIELD: spec <DeploymentSpec>", "template\t<PodTemplateSpec> -required-"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("explain deployment.spec lacks %q:\n%s", want, out.String())
		}
	}
}

func TestETag(t *testing.T) {
	for _, path := range []string{"/openapi/v2", "/openapi/v3", "/openapi/v3/apis/apps/v1"} {
		resp := get(t, path)
		etag := resp.Header.Get("Etag")
		if resp.StatusCode != 200 || etag == "" {
			t.Fatalf("GET %s: %d, ETag %q", path, resp.StatusCode, etag)
		}
		if resp := get(t, path, "If-None-Match", etag); resp.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s If-None-Match its ETag: %d, want 304", path, resp.StatusCode)
		}
		if resp := get(t, path, "If-None-Match", `"other"`); resp.StatusCode != 200 {
			t.Errorf("GET %s If-None-Match another ETag: %d, want 200", path, resp.StatusCode)
		}
	}
}

func TestGzip(t *testing.T) {
	resp := get(t, "/openapi/v2", "Accept-Encoding", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	plain := get(t, "/openapi/v2")
	if plain.Header.Get("Content-Encoding") != "" || plain.Header.Get("Etag") != resp.Header.Get("Etag") {
		t.Errorf("uncompressed: Content-Encoding %q, ETag differs", plain.Header.Get("Content-Encoding"))
	}
}

// TestDeterministic: every replica of kapi must give a document the same
// hash, or clients would chase redirects between them.
func TestDeterministic(t *testing.T) {
	a, err := New(catalogueOf(gaResources()))
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(catalogueOf(gaResources()))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"api/v1", "apis/apps/v1"} {
		da, _ := a.document(name)
		db, _ := b.document(name)
		ja, _ := a.cache.get(da, variant{})
		jb, _ := b.cache.get(db, variant{})
		if !bytes.Equal(ja, jb) || da.etag != db.etag {
			t.Errorf("%s differs between two builds", name)
		}
	}
	la, _ := a.current()
	lb, _ := b.current()
	ja, _ := a.cache.get(la.index, variant{})
	jb, _ := b.cache.get(lb.index, variant{})
	if !bytes.Equal(ja, jb) {
		t.Error("v3 index differs between two builds")
	}
}

// TestBuiltin builds every document of the catalogue kapi serves.
func TestBuiltin(t *testing.T) {
	d, err := New(catalogueOf(builtin.Resources()))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Build(); err != nil {
		t.Fatal(err)
	}
}

// TestCatalogueMistakes: a row New cannot document fails at start-up,
// saying what to do.
func TestCatalogueMistakes(t *testing.T) {
	// The scheme knows apps/v1beta1, but its schemas are not generated.
	beta := builtin.Typed(&registry.Resource{Group: "apps", Version: "v1beta1", Name: "deployments", Kind: "Deployment", Namespaced: true})
	if _, err := New(catalogueOf(beta)); err == nil || !strings.Contains(err.Error(), "io.k8s.api.apps.v1beta1.Deployment") {
		t.Errorf("New with a kind without schema: %v", err)
	}

	// A kind the scheme does not know has no Go type, and no schema name.
	unknown := &registry.Resource{Group: "example.com", Version: "v1", Name: "widgets", Kind: "Widget"}
	if _, err := registry.GoType(unknown.GVK(), schemas.Builtin, nil); err == nil {
		t.Error("GoType of a kind the scheme does not know: no error")
	}
	if _, err := schemas.Builtin.Model(unknown.GVK()); err == nil {
		t.Error("schema name of a kind the scheme does not know: no error")
	}
}

// TestChanges: a group version published after the documents were made
// is documented at once, with a hash of its own; the documents of the
// others keep theirs; a group version removed is gone.
func TestChanges(t *testing.T) {
	cat := catalogueOf(gaResources())
	d, err := New(cat)
	if err != nil {
		t.Fatal(err)
	}
	apps, _ := d.document("apis/apps/v1")
	if _, err := d.cache.get(apps, variant{}); err != nil {
		t.Fatal(err)
	}
	before, _ := d.current()

	// A row of a built-in kind in a group of its own, published under
	// another owner, as a CRD's rows are.
	typ, err := registry.GoType(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, renamed{schemas.Builtin}, nil)
	if err != nil {
		t.Fatal(err)
	}
	extra := &registry.Resource{Group: "example.com", Version: "v1", Name: "configmaps", Kind: "ConfigMap", Namespaced: true, Type: typ}
	if err := cat.Set("crd/configmaps.example.com", []*registry.Store{registry.NewStore(extra, nil)}); err != nil {
		t.Fatal(err)
	}
	after, err := d.current()
	if err != nil {
		t.Fatal(err)
	}
	rt := after.byKey["apis/example.com/v1"]
	if rt == nil || before.byKey["apis/example.com/v1"] != nil {
		t.Fatalf("example.com/v1 before %v, after %v", before.byKey["apis/example.com/v1"], rt)
	}
	if after.byKey["apis/apps/v1"] != before.byKey["apis/apps/v1"] {
		t.Error("apps/v1 was laid out again though its rows did not change")
	}
	if again, _ := d.document("apis/apps/v1"); again != apps {
		t.Error("apps/v1 was built again though its rows did not change")
	}
	if after.v2.etag == before.v2.etag || after.index.etag == before.index.etag {
		t.Error("v2 or the v3 index kept its hash through a change")
	}
	doc, err := d.document("apis/example.com/v1")
	if err != nil {
		t.Fatal(err)
	}
	j, err := d.cache.get(doc, variant{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(j, []byte("/apis/example.com/v1/namespaces/{namespace}/configmaps")) {
		t.Error("example.com/v1 does not document its resource")
	}

	if err := cat.Set("crd/configmaps.example.com", nil); err != nil {
		t.Fatal(err)
	}
	if doc, _ := d.document("apis/example.com/v1"); doc != nil {
		t.Error("example.com/v1 is still documented after its rows went")
	}
	if gone, _ := d.current(); gone.v2.etag != before.v2.etag {
		t.Error("v2's hash is not what it was before the change came and went")
	}
}

// renamed is the built-in schema of a kind served in another group.
type renamed struct{ registry.Schema }

func (r renamed) Model(gvk schema.GroupVersionKind) (string, error) {
	gvk.Group = ""
	return r.Schema.Model(gvk)
}

// BenchmarkNew is what start-up pays: laying out the routes.
func BenchmarkNew(b *testing.B) {
	cat := catalogueOf(gaResources())
	for b.Loop() {
		if _, err := New(cat); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuild is what the first requests pay, once: every document in
// JSON and protobuf.
func BenchmarkBuild(b *testing.B) {
	cat := catalogueOf(gaResources())
	for b.Loop() {
		d, err := New(cat)
		if err != nil {
			b.Fatal(err)
		}
		if err := d.Build(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFirstExplain is what `kubectl explain` waits for on a fresh
// server: the v3 index (made of hashes, no document) and one document.
func BenchmarkFirstExplain(b *testing.B) {
	cat := catalogueOf(gaResources())
	for b.Loop() {
		d, err := New(cat)
		if err != nil {
			b.Fatal(err)
		}
		l, err := d.current()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.cache.get(l.index, variant{}); err != nil {
			b.Fatal(err)
		}
		doc, err := d.document("apis/apps/v1")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.cache.get(doc, variant{}); err != nil {
			b.Fatal(err)
		}
	}
}
