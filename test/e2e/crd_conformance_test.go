package e2e

// The scenarios of kube-apiserver's [sig-api-machinery] [Conformance]
// tests about CRDs (kubernetes/kubernetes, test/e2e/apimachinery/), and
// the kapi test that covers each:
//
// custom_resource_definition.go
//   creating/deleting custom resource definition objects works: TestCRDConformanceCRDObjects
//   listing custom resource definition objects works: TestCRDConformanceCRDObjects
//   getting/updating/patching custom resource definition status sub-resource works: TestCRDConformanceCRDObjects
//   should include custom resource definition resources in discovery documents: TestCRDConformanceCRDObjects
//   custom resource defaulting for requests and from storage works: TestCRDConformanceDefaulting (also TestCRDSchemas, a default added to spec.*)
// crd_watch.go
//   watch on custom resource definition objects: TestCRDConformanceWatch (also TestCRDVerbs, watch with resume)
// crd_publish_openapi.go
//   works for CRD with validation schema: TestCRDConformanceOpenAPIKubectl (also TestCRDKubectl, explain)
//   works for CRD without validation schema: TestCRDConformanceOpenAPIKubectl
//   works for CRD preserving unknown fields at the schema root: TestCRDConformanceOpenAPIKubectl
//   works for CRD preserving unknown fields in an embedded object: TestCRDConformanceOpenAPIKubectl
//   works for multiple CRDs of different groups: TestCRDConformanceOpenAPIVersions
//   works for multiple CRDs of same group but different versions: TestCRDConformanceOpenAPIVersions
//   works for multiple CRDs of same group and version but different kinds: TestCRDConformanceOpenAPIVersions
//   updates the published spec when one version gets renamed: TestCRDConformanceOpenAPIVersions
//   removes definition from spec when one version gets changed to not be served: TestCRDConformanceOpenAPIVersions
// field_validation.go (the custom resource cases)
//   should create/apply a valid CR for CRD with validation schema: TestCRDConformanceFieldValidation
//   should create/apply a CR with unknown fields for CRD with no validation schema: TestCRDConformanceFieldValidation
//   should create/apply an invalid CR with extra properties for CRD with validation schema: TestCRDConformanceFieldValidation
//   should detect unknown metadata fields in both the root and embedded object of a CR: TestCRDConformanceFieldValidation
//   should detect duplicates in a CR when preserving unknown fields: TestCRDConformanceFieldValidation
//   (Strict/Warn/Ignore on create and patch bodies, JSON and YAML: TestCRDConformanceFieldValidation, TestCRDSchemas)
// aggregated_discovery.go (the CRD cases)
//   should support raw aggregated discovery request for CRDs: TestCRDConformanceAggregatedDiscovery (also TestCRDDiscoveryAndOpenAPI)
//   should support aggregated discovery interface for CRDs: TestCRDConformanceAggregatedDiscovery
// table_conversion.go
//   should return a 406 for a backend which does not implement metadata: TestTableIsACapability (subresources_test.go);
//   the Tables of custom resources (v1beta1, chunked lists): TestCRDConformanceTables (also TestCRDContent)

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	metav1beta1 "k8s.io/apimachinery/pkg/apis/meta/v1beta1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/yaml"
)

// confAllowAll is the upstream fixtures' schema that allows anything.
func confAllowAll() *apiextensionsv1.CustomResourceValidation {
	yes := true
	return &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: &yes}}
}

// confCRD is a CRD like the upstream fixtures' random one: group
// mygroup.example.com, one version v1beta1 allowing anything, and a kind
// that is its lower-case singular.
func confCRD(singular string, scope apiextensionsv1.ResourceScope) *apiextensionsv1.CustomResourceDefinition {
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: singular + "s.mygroup.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "mygroup.example.com",
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{
				{Name: "v1beta1", Served: true, Storage: true, Schema: confAllowAll()},
			},
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: singular + "s", Singular: singular, Kind: singular, ListKind: singular + "List"},
			Scope: scope,
		},
	}
}

// confInDiscovery tells whether the plural of crd is in the discovery
// document of its group and version; a 404 is false, another error
// fails the test.
func confInDiscovery(t *testing.T, k *kapi, crd *apiextensionsv1.CustomResourceDefinition, version string) bool {
	t.Helper()
	list, err := k.client.Discovery().ServerResourcesForGroupVersion(crd.Spec.Group + "/" + version)
	if apierrors.IsNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatalf("discovery of %s/%s: %v", crd.Spec.Group, version, err)
	}
	for _, r := range list.APIResources {
		if r.Name == crd.Spec.Names.Plural {
			return true
		}
	}
	return false
}

// confCreate creates crd and waits, as the upstream fixtures do, until
// each served version is in discovery.
func confCreate(t *testing.T, k *kapi, crd *apiextensionsv1.CustomResourceDefinition) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	out, err := k.crdClient().ApiextensionsV1().CustomResourceDefinitions().Create(context.Background(), crd, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating CRD %s: %v", crd.Name, err)
	}
	for _, v := range out.Spec.Versions {
		if v.Served {
			if err := waitUntil(30*time.Second, func() bool { return confInDiscovery(t, k, out, v.Name) }); err != nil {
				t.Fatalf("%s/%s %s is not in discovery: %v", out.Spec.Group, v.Name, out.Spec.Names.Plural, err)
			}
		}
	}
	return out
}

// confWaitGone waits until the CRD name is not found and its served
// versions are out of discovery.
func confWaitGone(t *testing.T, k *kapi, crd *apiextensionsv1.CustomResourceDefinition) {
	t.Helper()
	if err := waitUntil(30*time.Second, func() bool {
		_, err := k.crdClient().ApiextensionsV1().CustomResourceDefinitions().Get(context.Background(), crd.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}); err != nil {
		t.Errorf("CRD %s is still there after its deletion", crd.Name)
	}
	for _, v := range crd.Spec.Versions {
		if v.Served {
			if err := waitUntil(30*time.Second, func() bool { return !confInDiscovery(t, k, crd, v.Name) }); err != nil {
				t.Errorf("%s/%s %s is still in discovery after the CRD's deletion", crd.Spec.Group, v.Name, crd.Spec.Names.Plural)
			}
		}
	}
}

// confHasCondition tells whether conds holds c exactly, as upstream's
// expectCondition compares them.
func confHasCondition(conds []apiextensionsv1.CustomResourceDefinitionCondition, c apiextensionsv1.CustomResourceDefinitionCondition) bool {
	for _, have := range conds {
		if equality.Semantic.DeepEqual(have, c) {
			return true
		}
	}
	return false
}

// TestCRDConformanceCRDObjects: the CustomResourceDefinition resource
// itself (custom_resource_definition.go): create and delete; list with
// a label selector and delete a collection; get, update and patch the
// status subresource; the apiextensions.k8s.io group in discovery.
func TestCRDConformanceCRDObjects(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	crds := k.crdClient().ApiextensionsV1().CustomResourceDefinitions()

	// Creating and deleting.
	created := confCreate(t, k, confCRD("foocreatea", apiextensionsv1.ClusterScoped))
	if err := crds.Delete(ctx, created.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("deleting CRD: %v", err)
	}
	confWaitGone(t, k, created)

	// Listing with a label selector: only the 10 labeled CRDs, each with
	// the spec it was created with; deleting the collection deletes those
	// and only those.
	const uuid = "4a1c0a3e-31b5-4a6f-9d3e-conformance"
	labeled := map[string]*apiextensionsv1.CustomResourceDefinition{}
	for i := 0; i < 10; i++ {
		crd := confCRD(fmt.Sprintf("foolist%da", i), apiextensionsv1.ClusterScoped)
		crd.Labels = map[string]string{"e2e-list-test-uuid": uuid}
		c := confCreate(t, k, crd)
		labeled[c.Name] = c
	}
	unlabeled := confCreate(t, k, confCRD("foounlabeleda", apiextensionsv1.ClusterScoped))
	selector := metav1.ListOptions{LabelSelector: "e2e-list-test-uuid=" + uuid}
	list, err := crds.List(ctx, selector)
	if err != nil {
		t.Fatalf("listing CRDs: %v", err)
	}
	if len(list.Items) != 10 {
		t.Errorf("listing with %s: %d CRDs, want 10", selector.LabelSelector, len(list.Items))
	}
	for _, got := range list.Items {
		want, ok := labeled[got.Name]
		if !ok {
			t.Errorf("the list has %s, which is not labeled", got.Name)
			continue
		}
		if !equality.Semantic.DeepEqual(got.Spec, want.Spec) {
			t.Errorf("listed %s has the spec %+v, created with %+v", got.Name, got.Spec, want.Spec)
		}
	}
	if err := crds.DeleteCollection(ctx, metav1.DeleteOptions{}, selector); err != nil {
		t.Fatalf("deleting the collection: %v", err)
	}
	for _, c := range labeled {
		confWaitGone(t, k, c)
	}
	if _, err := crds.Get(ctx, unlabeled.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("the unlabeled CRD after deleting the labeled ones: %v", err)
	}
	if !confInDiscovery(t, k, unlabeled, "v1beta1") {
		t.Errorf("the unlabeled CRD is no longer served")
	}

	// The status subresource: read through the dynamic client (its spec
	// is the CRD's), updated (a condition added; the spec and labels of
	// the body ignored), then patched; each write shows in later reads.
	crd := confCreate(t, k, confCRD("foostatusa", apiextensionsv1.ClusterScoped))
	crdGVR := apiextensionsv1.SchemeGroupVersion.WithResource("customresourcedefinitions")
	statusClient := k.dynamic.Resource(crdGVR)
	updateCondition := apiextensionsv1.CustomResourceDefinitionCondition{Message: "updated"}
	var updated *apiextensionsv1.CustomResourceDefinition
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		u, err := statusClient.Get(ctx, crd.Name, metav1.GetOptions{}, "status")
		if err != nil {
			t.Fatalf("getting the status subresource: %v", err)
		}
		status := &apiextensionsv1.CustomResourceDefinition{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, status); err != nil {
			t.Fatal(err)
		}
		if !equality.Semantic.DeepEqual(status.Spec, crd.Spec) {
			t.Errorf("the status subresource's spec %+v, the CRD's %+v", status.Spec, crd.Spec)
		}
		status.Status.Conditions = append(status.Status.Conditions, updateCondition)
		// The spec of the body is ignored. (So would be its metadata, but
		// kube-apiserver's CRD status strategy resets the new metadata to
		// itself, ResetObjectMetaForStatus(&newObj.ObjectMeta,
		// &newObj.ObjectMeta), so labels sent to /status are kept there.)
		status.Spec.Names.ShortNames = []string{"ignored"}
		updated, err = crds.UpdateStatus(ctx, status, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("updating the status: %v", err)
	}
	if !confHasCondition(updated.Status.Conditions, updateCondition) {
		t.Errorf("the status update's answer has the conditions %+v, without %+v", updated.Status.Conditions, updateCondition)
	}
	if len(updated.Spec.Names.ShortNames) != 0 || updated.Generation != crd.Generation {
		t.Errorf("a status update changed the short names %v or generation %d (was %d)", updated.Spec.Names.ShortNames, updated.Generation, crd.Generation)
	}
	if got, err := crds.Get(ctx, crd.Name, metav1.GetOptions{}); err != nil || !confHasCondition(got.Status.Conditions, updateCondition) {
		t.Errorf("read after the status update: %v, conditions %+v", err, got.Status.Conditions)
	}
	patchCondition := apiextensionsv1.CustomResourceDefinitionCondition{Message: "patched"}
	patched, err := crds.Patch(ctx, crd.Name, types.JSONPatchType,
		[]byte(`[{"op": "add", "path": "/status/conditions", "value": [{"message": "patched"}]}]`), metav1.PatchOptions{}, "status")
	if err != nil {
		t.Fatalf("patching the status: %v", err)
	}
	if !confHasCondition(patched.Status.Conditions, patchCondition) || confHasCondition(patched.Status.Conditions, updateCondition) {
		t.Errorf("the status patch's answer has the conditions %+v, want %+v in place of the others", patched.Status.Conditions, patchCondition)
	}
	// kube-apiserver's naming and establishing controllers set their
	// conditions again, next to the patched one, and the CRD is served.
	var got *apiextensionsv1.CustomResourceDefinition
	if err := waitUntil(10*time.Second, func() bool {
		got, err = crds.Get(ctx, crd.Name, metav1.GetOptions{})
		if err != nil || !confHasCondition(got.Status.Conditions, patchCondition) {
			return false
		}
		c := condition(got, apiextensionsv1.Established)
		return c != nil && c.Status == apiextensionsv1.ConditionTrue
	}); err != nil {
		t.Errorf("after the status patch: %v, conditions %+v", err, got)
	}
	if _, err := k.crs(crd, "v1beta1", "").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("custom resources after the status patch: %v", err)
	}

	// Discovery: /apis, /apis/apiextensions.k8s.io and
	// /apis/apiextensions.k8s.io/v1.
	var groups metav1.APIGroupList
	if err := k.client.Discovery().RESTClient().Get().AbsPath("/apis").Do(ctx).Into(&groups); err != nil {
		t.Fatalf("/apis: %v", err)
	}
	var group *metav1.APIGroup
	for i := range groups.Groups {
		if groups.Groups[i].Name == "apiextensions.k8s.io" {
			group = &groups.Groups[i]
		}
	}
	if group == nil || !confHasVersion(group.Versions, "v1") || group.PreferredVersion.GroupVersion != "apiextensions.k8s.io/v1" {
		t.Errorf("apiextensions.k8s.io in /apis: %+v", group)
	}
	var g metav1.APIGroup
	if err := k.client.Discovery().RESTClient().Get().AbsPath("/apis/apiextensions.k8s.io").Do(ctx).Into(&g); err != nil {
		t.Fatalf("/apis/apiextensions.k8s.io: %v", err)
	}
	if g.Name != "apiextensions.k8s.io" || !confHasVersion(g.Versions, "v1") {
		t.Errorf("/apis/apiextensions.k8s.io: %+v", g)
	}
	var resources metav1.APIResourceList
	if err := k.client.Discovery().RESTClient().Get().AbsPath("/apis/apiextensions.k8s.io/v1").Do(ctx).Into(&resources); err != nil {
		t.Fatalf("/apis/apiextensions.k8s.io/v1: %v", err)
	}
	if resources.GroupVersion != "apiextensions.k8s.io/v1" {
		t.Errorf("/apis/apiextensions.k8s.io/v1 is of %q", resources.GroupVersion)
	}
	byName := map[string]metav1.APIResource{}
	for _, r := range resources.APIResources {
		byName[r.Name] = r
	}
	r, ok := byName["customresourcedefinitions"]
	if !ok || r.Kind != "CustomResourceDefinition" || r.Namespaced || r.SingularName != "customresourcedefinition" ||
		strings.Join(r.ShortNames, ",") != "crd,crds" || strings.Join(r.Categories, ",") != "api-extensions" ||
		!confSameSet(r.Verbs, []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}) {
		t.Errorf("customresourcedefinitions in /apis/apiextensions.k8s.io/v1: %+v", r)
	}
	if s, ok := byName["customresourcedefinitions/status"]; !ok || !confSameSet(s.Verbs, []string{"get", "patch", "update"}) {
		t.Errorf("customresourcedefinitions/status: %+v", s)
	}
}

func confHasVersion(versions []metav1.GroupVersionForDiscovery, v string) bool {
	for _, have := range versions {
		if have.Version == v {
			return true
		}
	}
	return false
}

func confSameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	set := map[string]bool{}
	for _, s := range a {
		set[s] = true
	}
	for _, s := range b {
		if !set[s] {
			return false
		}
	}
	return true
}

// TestCRDConformanceDefaulting: custom resource defaulting for requests
// and from storage (custom_resource_definition.go): a default added to
// the schema shows on a custom resource stored before it, is stored with
// one created after it, and stays with that one when the default is
// removed, while a new default for another field shows on both. The
// defaulted fields are at the root of the object.
func TestCRDConformanceDefaulting(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	crd := confCRD("foodefaulta", apiextensionsv1.ClusterScoped)
	crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties = props{"a": {Type: "string"}, "b": {Type: "string"}}
	crd = confCreate(t, k, crd)
	crs := k.crs(crd, "v1beta1", "")
	obj := func(name string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": "mygroup.example.com/v1beta1", "kind": crd.Spec.Names.Kind,
			"metadata": map[string]interface{}{"name": name}}}
	}
	if _, err := crs.Create(ctx, obj("cr-1"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating cr-1: %v", err)
	}
	crdClient := k.crdClient().ApiextensionsV1().CustomResourceDefinitions()
	if _, err := crdClient.Patch(ctx, crd.Name, types.JSONPatchType,
		[]byte(`[{"op":"add","path":"/spec/versions/0/schema/openAPIV3Schema/properties/a/default","value":"A"}]`), metav1.PatchOptions{}); err != nil {
		t.Fatalf("adding the default of a: %v", err)
	}
	var last interface{}
	if err := waitUntil(30*time.Second, func() bool {
		u, err := crs.Get(ctx, "cr-1", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("getting cr-1: %v", err)
		}
		last = u.Object["a"]
		if a, found := u.Object["a"]; found && a != "A" {
			t.Fatalf("cr-1 has a=%v, want A", a)
		}
		return last == "A"
	}); err != nil {
		t.Fatalf("cr-1 is not defaulted on read: a=%v", last)
	}
	u2, err := crs.Create(ctx, obj("cr-2"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating cr-2: %v", err)
	}
	if u2.Object["a"] != "A" {
		t.Errorf("cr-2 as created: a=%v, want A", u2.Object["a"])
	}
	// Defaults read from storage are not written back; a default of a
	// create is.
	if stored := confStored(t, k, "/registry/mygroup.example.com/"+crd.Spec.Names.Plural+"/cr-1"); stored["a"] != nil {
		t.Errorf("cr-1 stored with a=%v: a default applied on read was written", stored["a"])
	}
	if stored := confStored(t, k, "/registry/mygroup.example.com/"+crd.Spec.Names.Plural+"/cr-2"); stored["a"] != "A" {
		t.Errorf("cr-2 stored with a=%v, want A", stored["a"])
	}

	if _, err := crdClient.Patch(ctx, crd.Name, types.JSONPatchType, []byte(`[
		{"op":"remove","path":"/spec/versions/0/schema/openAPIV3Schema/properties/a/default"},
		{"op":"add","path":"/spec/versions/0/schema/openAPIV3Schema/properties/b/default","value":"B"}
	]`), metav1.PatchOptions{}); err != nil {
		t.Fatalf("removing the default of a, adding one of b: %v", err)
	}
	var u *unstructured.Unstructured
	if err := waitUntil(30*time.Second, func() bool {
		u, err = crs.Get(ctx, "cr-2", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("getting cr-2: %v", err)
		}
		if b, found := u.Object["b"]; found && b != "B" {
			t.Fatalf("cr-2 has b=%v, want B", b)
		}
		return u.Object["b"] == "B"
	}); err != nil {
		t.Fatalf("cr-2 is not defaulted on read for b: %v", u.Object)
	}
	if u.Object["a"] != "A" {
		t.Errorf("cr-2 lost or changed its stored a: %v", u.Object)
	}
	// cr-1 never stored a: it has the new default b and no longer a.
	if u1, err := crs.Get(ctx, "cr-1", metav1.GetOptions{}); err != nil || u1.Object["b"] != "B" || u1.Object["a"] != nil {
		t.Errorf("cr-1 after the defaults changed: %v %v", err, u1)
	}
}

// confStored is the object stored in etcd under key, decoded.
func confStored(t *testing.T, k *kapi, key string) map[string]interface{} {
	t.Helper()
	resp, err := k.srv.Etcd().Get(context.Background(), key)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("etcd key %s: %v (%d keys)", key, err, len(resp.Kvs))
	}
	var m map[string]interface{}
	if err := json.Unmarshal(resp.Kvs[0].Value, &m); err != nil {
		t.Fatalf("etcd key %s: %v", key, err)
	}
	return m
}

// TestCRDConformanceWatch: watch on custom resources (crd_watch.go): two
// watches, each on one name (a field selector), see the creation,
// modification and deletion of their custom resource and nothing of the
// other's.
func TestCRDConformanceWatch(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	noxu := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "noxus.mygroup.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group:    "mygroup.example.com",
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1beta1", Served: true, Storage: true, Schema: confAllowAll()}},
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "noxus", Singular: "nonenglishnoxu", Kind: "WishIHadChosenNoxu",
				ShortNames: []string{"foo", "bar", "abc", "def"}, ListKind: "NoxuItemList", Categories: []string{"all"}},
			Scope: apiextensionsv1.ClusterScoped,
		},
	}
	noxu = confCreate(t, k, noxu)
	crs := k.crs(noxu, "v1beta1", "")
	timeout := int64(600)
	watchOf := func(name string) watch.Interface {
		w, err := crs.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name, TimeoutSeconds: &timeout})
		if err != nil {
			t.Fatalf("watching %s: %v", name, err)
		}
		t.Cleanup(w.Stop)
		return w
	}
	watchA, watchB := watchOf("name1"), watchOf("name2")
	instance := func(name string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]interface{}{
			"apiVersion": "mygroup.example.com/v1beta1", "kind": "WishIHadChosenNoxu",
			"metadata": map[string]interface{}{"name": name},
			"content":  map[string]interface{}{"key": "value"},
			"num":      map[string]interface{}{"num1": int64(9223372036854775807), "num2": int64(1000000)},
		}}
	}
	create := func(name string) *unstructured.Unstructured {
		t.Helper()
		u, err := crs.Create(ctx, instance(name), metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("creating %s: %v", name, err)
		}
		if u.GetUID() == "" || u.GetAPIVersion() != "mygroup.example.com/v1beta1" || u.GetKind() != "WishIHadChosenNoxu" {
			t.Errorf("created %s: %v", name, u.Object)
		}
		if n, _, _ := unstructured.NestedInt64(u.Object, "num", "num1"); n != 9223372036854775807 {
			t.Errorf("created %s has num.num1 %v, want the largest int64", name, u.Object["num"])
		}
		return u
	}
	expect := func(w watch.Interface, what string, typ watch.EventType, name string, want *unstructured.Unstructured) *unstructured.Unstructured {
		t.Helper()
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("%s: the watch ended", what)
			}
			u, isU := ev.Object.(*unstructured.Unstructured)
			if ev.Type != typ || !isU || u.GetName() != name {
				t.Fatalf("%s: event %s %v, want %s of %s", what, ev.Type, ev.Object, typ, name)
			}
			if want != nil && !equality.Semantic.DeepEqual(u.Object, want.Object) {
				t.Errorf("%s: the event's object %v, want %v", what, u.Object, want.Object)
			}
			return u
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: no %s event of %s", what, typ, name)
		}
		return nil
	}

	a := create("name1")
	expect(watchA, "create name1", watch.Added, "name1", a)
	b := create("name2")
	expect(watchB, "create name2", watch.Added, "name2", b)

	patch := []byte(`[{ "op": "add", "path": "/dummy", "value": "test" }]`)
	for _, w := range []struct {
		name string
		w    watch.Interface
	}{{"name1", watchA}, {"name2", watchB}} {
		patched, err := crs.Patch(ctx, w.name, types.JSONPatchType, patch, metav1.PatchOptions{})
		if err != nil {
			t.Fatalf("patching %s: %v", w.name, err)
		}
		if got := expect(w.w, "modify "+w.name, watch.Modified, w.name, patched); got.Object["dummy"] != "test" {
			t.Errorf("modified %s: %v", w.name, got.Object)
		}
	}
	for _, w := range []struct {
		name string
		w    watch.Interface
	}{{"name1", watchA}, {"name2", watchB}} {
		if err := crs.Delete(ctx, w.name, metav1.DeleteOptions{}); err != nil {
			t.Fatalf("deleting %s: %v", w.name, err)
		}
		expect(w.w, "delete "+w.name, watch.Deleted, w.name, nil)
	}
	// Neither watch saw anything of the other (an event of the other's
	// would have come before the expected ones, or after them here).
	for name, w := range map[string]watch.Interface{"name1": watchA, "name2": watchB} {
		select {
		case ev := <-w.ResultChan():
			t.Errorf("the watch of %s has a further event %s %v", name, ev.Type, ev.Object)
		case <-time.After(time.Second):
		}
	}
}

// The schemas of crd_publish_openapi.go.
const (
	confSchemaFoo = `description: Foo CRD for Testing
type: object
properties:
  spec:
    type: object
    description: Specification of Foo
    properties:
      bars:
        description: List of Bars and their specs.
        type: array
        items:
          type: object
          required:
          - name
          properties:
            name:
              description: Name of Bar.
              type: string
            age:
              description: Age of Bar.
              type: string
            feeling:
              description: Whether Bar is feeling great.
              type: string
              enum:
              - Great
              - Down
            bazs:
              description: List of Bazs.
              items:
                type: string
              type: array
  status:
    description: Status of Foo
    type: object
    properties:
      bars:
        description: List of Bars and their statuses.
        type: array
        items:
          type: object
          properties:
            name:
              description: Name of Bar.
              type: string
            available:
              description: Whether the Bar is installed.
              type: boolean
            quxType:
              description: Indicates to external qux type.
              pattern: in-tree|out-of-tree
              type: string`

	confSchemaWaldo = `description: Waldo CRD for Testing
type: object
properties:
  spec:
    description: Specification of Waldo
    type: object
    properties:
      dummy:
        description: Dummy property.
        type: object
  status:
    description: Status of Waldo
    type: object
    properties:
      bars:
        description: List of Bars and their statuses.
        type: array
        items:
          type: object`

	confSchemaPreserveRoot = `description: preserve-unknown-properties at root for Testing
x-kubernetes-preserve-unknown-fields: true
type: object
properties:
  spec:
    description: Specification of Waldo
    type: object
    properties:
      dummy:
        description: Dummy property.
        type: object
  status:
    description: Status of Waldo
    type: object
    properties:
      bars:
        description: List of Bars and their statuses.
        type: array
        items:
          type: object`

	confSchemaPreserveNested = `description: preserve-unknown-properties in nested field for Testing
type: object
properties:
  spec:
    description: Specification of Waldo
    type: object
    x-kubernetes-preserve-unknown-fields: true
    properties:
      dummy:
        description: Dummy property.
        type: object
  status:
    description: Status of Waldo
    type: object
    properties:
      bars:
        description: List of Bars and their statuses.
        type: array
        items:
          type: object`
)

// confPublishCRD is a namespaced CRD as crd_publish_openapi.go makes
// them: names e2e-test-<name>-crds / E2e-test-<name>-crd in group, every
// version served with the schema (YAML; "" for none, which is a schema
// preserving unknown fields at the root), the first one stored.
func confPublishCRD(t *testing.T, group, name, schemaYAML string, versions ...string) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	yes := true
	s := &apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: &yes}
	if schemaYAML != "" {
		s = &apiextensionsv1.JSONSchemaProps{}
		if err := yaml.UnmarshalStrict([]byte(schemaYAML), s); err != nil {
			t.Fatal(err)
		}
	}
	plural := "e2e-test-" + name + "-crds"
	kind := "E2e-test-" + name + "-crd"
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: plural + "." + group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: group, Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: plural, Singular: "e2e-test-" + name + "-crd", Kind: kind, ListKind: kind + "List"},
		},
	}
	for i, v := range versions {
		crd.Spec.Versions = append(crd.Spec.Versions, apiextensionsv1.CustomResourceDefinitionVersion{
			Name: v, Served: true, Storage: i == 0, Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: s.DeepCopy()}})
	}
	return crd
}

// confDefinitionName is the OpenAPI definition of crd's kind in version.
func confDefinitionName(crd *apiextensionsv1.CustomResourceDefinition, version string) string {
	parts := strings.Split(crd.Spec.Group, ".")
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, ".") + "." + version + "." + crd.Spec.Names.Kind
}

// confV2Definitions are the definitions of /openapi/v2.
func confV2Definitions(t *testing.T, k *kapi) map[string]map[string]interface{} {
	t.Helper()
	code, _, body := k.do(t, "GET", "/openapi/v2", "", nil, "Accept", "application/json")
	var doc struct {
		Definitions map[string]map[string]interface{} `json:"definitions"`
	}
	if err := json.Unmarshal(body, &doc); code != 200 || err != nil {
		t.Fatalf("/openapi/v2: %d %v", code, err)
	}
	return doc.Definitions
}

// confExpected is the definition kube-apiserver publishes in
// /openapi/v2 for a schema (YAML; "" for none), less what it adds
// (apiVersion, kind, metadata and the group-version-kind extension), as
// crd_publish_openapi.go's waitForDefinition compares them.
func confExpected(t *testing.T, schemaYAML string) map[string]interface{} {
	t.Helper()
	if schemaYAML == "" {
		schemaYAML = "type: object"
	}
	j, err := yaml.YAMLToJSON([]byte(schemaYAML))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]interface{}
	if err := json.Unmarshal(j, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func confDropDefaults(def map[string]interface{}) map[string]interface{} {
	out := map[string]interface{}{}
	for k, v := range def {
		out[k] = v
	}
	if p, ok := out["properties"].(map[string]interface{}); ok {
		q := map[string]interface{}{}
		for k, v := range p {
			if k != "metadata" && k != "apiVersion" && k != "kind" {
				q[k] = v
			}
		}
		if len(q) == 0 {
			delete(out, "properties")
		} else {
			out["properties"] = q
		}
	}
	delete(out, "x-kubernetes-group-version-kind")
	return out
}

// confWaitDefinition waits until /openapi/v2 has the definition name
// and, unless schemaYAML is nil, that it is the one of the schema.
func confWaitDefinition(t *testing.T, k *kapi, name string, schemaYAML *string) {
	t.Helper()
	var last map[string]interface{}
	found := false
	err := waitUntil(30*time.Second, func() bool {
		def, ok := confV2Definitions(t, k)[name]
		found, last = ok, def
		if !ok {
			return false
		}
		return schemaYAML == nil || reflect.DeepEqual(confDropDefaults(def), confExpected(t, *schemaYAML))
	})
	if err == nil {
		return
	}
	if !found {
		t.Errorf("/openapi/v2 has no definition %s", name)
		return
	}
	got, _ := json.Marshal(confDropDefaults(last))
	want, _ := json.Marshal(confExpected(t, *schemaYAML))
	t.Errorf("/openapi/v2 definition %s:\n got %s\nwant %s", name, got, want)
}

// confWaitNoDefinition waits until /openapi/v2 has no definition name.
func confWaitNoDefinition(t *testing.T, k *kapi, name string) {
	t.Helper()
	if err := waitUntil(30*time.Second, func() bool { _, ok := confV2Definitions(t, k)[name]; return !ok }); err != nil {
		t.Errorf("/openapi/v2 still has the definition %s", name)
	}
}

// confV3Roots are the group-versions of the /openapi/v3 index.
func confV3Roots(t *testing.T, k *kapi) map[string]bool {
	t.Helper()
	_, _, body := k.do(t, "GET", "/openapi/v3", "", nil)
	var index struct {
		Paths map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(body, &index); err != nil {
		t.Fatalf("/openapi/v3: %v", err)
	}
	out := map[string]bool{}
	for p := range index.Paths {
		out[p] = true
	}
	return out
}

// confSetup creates crd, waits until it is served and each version's
// definition is published as expected (schemaYAML nil: only present).
func confSetup(t *testing.T, k *kapi, crd *apiextensionsv1.CustomResourceDefinition, schemaYAML *string) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	crd = k.createCRD(t, crd)
	for _, v := range crd.Spec.Versions {
		confWaitDefinition(t, k, confDefinitionName(crd, v.Name), schemaYAML)
	}
	return crd
}

// confCleanup deletes crd and waits until its definitions are gone.
func confCleanup(t *testing.T, k *kapi, crd *apiextensionsv1.CustomResourceDefinition) {
	t.Helper()
	if err := k.crdClient().ApiextensionsV1().CustomResourceDefinitions().Delete(context.Background(), crd.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("deleting %s: %v", crd.Name, err)
	}
	if err := waitUntil(30*time.Second, func() bool {
		_, err := k.crdClient().ApiextensionsV1().CustomResourceDefinitions().Get(context.Background(), crd.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}); err != nil {
		t.Errorf("CRD %s is still there after its deletion", crd.Name)
	}
	for _, v := range crd.Spec.Versions {
		confWaitNoDefinition(t, k, confDefinitionName(crd, v.Name))
	}
}

func confStr(s string) *string { return &s }

// confExplain runs kubectl explain what and matches its output to the
// pattern.
func confExplain(t *testing.T, k *kapi, what, pattern string) {
	t.Helper()
	out, err := k.kubectl("", "explain", what)
	if err != nil {
		t.Errorf("kubectl explain %s: %v\n%s", what, err, out)
		return
	}
	if !regexp.MustCompile(pattern).MatchString(out) {
		t.Errorf("kubectl explain %s does not match %s:\n%s", what, pattern, out)
	}
}

// confCreateApply creates the custom resource cr with kubectl create,
// deletes it, applies it with kubectl apply and deletes it, each of
// which must succeed.
func confCreateApply(t *testing.T, k *kapi, plural, name, cr string) {
	t.Helper()
	for _, verb := range []string{"create", "apply"} {
		if out, err := k.kubectl(cr, "--namespace=default", verb, "-f", "-"); err != nil {
			t.Errorf("kubectl %s of %s: %v\n%s", verb, cr, err, out)
			continue
		}
		if out, err := k.kubectl("", "--namespace=default", "delete", plural, name); err != nil {
			t.Errorf("kubectl delete %s %s: %v\n%s", plural, name, err, out)
		}
	}
}

// TestCRDConformanceOpenAPIKubectl: the kubectl side of
// crd_publish_openapi.go: kubectl create and apply validate custom
// resources against the published schema (known, unknown and missing
// required fields, enum values); kubectl explain explains the schema,
// its nested fields and ObjectMeta; CRDs without a schema, or preserving
// unknown fields at the root or in a nested object, take anything.
func TestCRDConformanceOpenAPIKubectl(t *testing.T) {
	k := startKapi(t)

	// With a validation schema.
	foo := confSetup(t, k, confPublishCRD(t, "crd-publish-openapi-test-foo.example.com", "foo", confSchemaFoo, "v1"), confStr(confSchemaFoo))
	plural := foo.Spec.Names.Plural
	meta := fmt.Sprintf(`"kind":"%s","apiVersion":"%s/%s","metadata":{"name":"%s"}`, foo.Spec.Names.Kind, foo.Spec.Group, "v1", "test-foo")
	confCreateApply(t, k, plural, "test-foo", fmt.Sprintf(`{%s,"spec":{"bars":[{"name":"test-bar"}]}}`, meta))

	badEnum := fmt.Sprintf(`{%s,"spec":{"bars":[{"name":"test-bar", "feeling":"NonExistentValue"}]}}`, meta)
	if out, err := k.kubectl(badEnum, "--namespace=default", "create", "-f", "-"); err == nil || !strings.Contains(out, `Unsupported value: "NonExistentValue"`) {
		t.Errorf("kubectl create of a value outside the enum: %v\n%s", err, out)
	}
	unknown := fmt.Sprintf(`{%s,"spec":{"foo":true}}`, meta)
	noRequired := fmt.Sprintf(`{%s,"spec":{"bars":[{"age":"10"}]}}`, meta)
	for _, verb := range []string{"create", "apply"} {
		if out, err := k.kubectl(unknown, "--namespace=default", verb, "-f", "-"); err == nil ||
			(!strings.Contains(out, `unknown field "foo"`) && !strings.Contains(out, `unknown field "spec.foo"`)) {
			t.Errorf("kubectl %s with an unknown field: %v\n%s", verb, err, out)
		}
		if out, err := k.kubectl(noRequired, "--namespace=default", verb, "-f", "-"); err == nil ||
			(!strings.Contains(out, `missing required field "name"`) && !strings.Contains(out, `spec.bars[0].name: Required value`)) {
			t.Errorf("kubectl %s without a required field: %v\n%s", verb, err, out)
		}
	}
	if l, err := k.crs(foo, "v1", "default").List(context.Background(), metav1.ListOptions{}); err != nil || len(l.Items) != 0 {
		t.Errorf("custom resources left after the refused requests: %v %v", err, l)
	}

	confExplain(t, k, plural, `(?s)DESCRIPTION:.*Foo CRD for Testing.*FIELDS:.*apiVersion.*<string>.*APIVersion defines.*spec.*<Object>.*Specification of Foo`)
	confExplain(t, k, plural+".metadata", `(?s)DESCRIPTION:.*Standard object's metadata.*FIELDS:.*creationTimestamp.*<string>.*CreationTimestamp is a timestamp`)
	confExplain(t, k, plural+".spec", `(?s)DESCRIPTION:.*Specification of Foo.*FIELDS:.*bars.*<\[\]Object>.*List of Bars and their specs`)
	confExplain(t, k, plural+".spec.bars", `(?s)(FIELD|RESOURCE):.*bars.*<\[\]Object>.*DESCRIPTION:.*List of Bars and their specs.*FIELDS:.*bazs.*<\[\]string>.*List of Bazs.*name.*<string>.*Name of Bar`)
	if out, err := k.kubectl("", "explain", plural+".spec.bars2"); err == nil || !strings.Contains(out, `field "bars2" does not exist`) {
		t.Errorf("kubectl explain of a field that does not exist: %v\n%s", err, out)
	}
	confCleanup(t, k, foo)

	// Without a schema: anything goes, explain has an empty description.
	empty := confSetup(t, k, confPublishCRD(t, "crd-publish-openapi-test-empty.example.com", "empty", "", "v1"), confStr(""))
	meta = fmt.Sprintf(`"kind":"%s","apiVersion":"%s/%s","metadata":{"name":"%s"}`, empty.Spec.Names.Kind, empty.Spec.Group, "v1", "test-cr")
	confCreateApply(t, k, empty.Spec.Names.Plural, "test-cr", fmt.Sprintf(`{%s,"a":{"b":[{"c":"d"}]}}`, meta))
	confExplain(t, k, empty.Spec.Names.Plural, `(?s)DESCRIPTION:.*<empty>`)
	confCleanup(t, k, empty)

	// Preserving unknown fields at the root.
	root := confSetup(t, k, confPublishCRD(t, "crd-publish-openapi-test-unknown-at-root.example.com", "unknown-at-root", confSchemaPreserveRoot, "v1"), nil)
	meta = fmt.Sprintf(`"kind":"%s","apiVersion":"%s/%s","metadata":{"name":"%s"}`, root.Spec.Names.Kind, root.Spec.Group, "v1", "test-cr")
	confCreateApply(t, k, root.Spec.Names.Plural, "test-cr", fmt.Sprintf(`{%s,"a":{"b":[{"c":"d"}]}}`, meta))
	confExplain(t, k, root.Spec.Names.Plural, fmt.Sprintf(`(?s)KIND:.*%s`, regexp.QuoteMeta(root.Spec.Names.Kind)))
	// kube-apiserver publishes in v2 only the type of a schema that
	// preserves unknown fields at the root (kubectl's v2 validation would
	// refuse the unknown fields otherwise).
	if def, ok := confV2Definitions(t, k)[confDefinitionName(root, "v1")]; !ok || !reflect.DeepEqual(confDropDefaults(def), confExpected(t, "")) {
		t.Errorf("the v2 definition of a schema preserving unknown fields at the root: %v", def)
	}
	confCleanup(t, k, root)

	// Preserving unknown fields in a nested object.
	nested := confSetup(t, k, confPublishCRD(t, "crd-publish-openapi-test-unknown-in-nested.example.com", "unknown-in-nested", confSchemaPreserveNested, "v1"), nil)
	meta = fmt.Sprintf(`"kind":"%s","apiVersion":"%s/%s","metadata":{"name":"%s"}`, nested.Spec.Names.Kind, nested.Spec.Group, "v1", "test-cr")
	confCreateApply(t, k, nested.Spec.Names.Plural, "test-cr", fmt.Sprintf(`{%s,"spec":{"a":null,"b":[{"c":"d"}]}}`, meta))
	confExplain(t, k, nested.Spec.Names.Plural, `(?s)DESCRIPTION:.*preserve-unknown-properties in nested field for Testing`)
	confCleanup(t, k, nested)
}

// TestCRDConformanceOpenAPIVersions: the definitions of
// crd_publish_openapi.go: CRDs of different groups, of one group and
// different versions (one CRD of two versions, two CRDs), of one group
// and version and different kinds are all published, each exactly as its
// schema; a version renamed, or no longer served, leaves OpenAPI and the
// other version stays.
func TestCRDConformanceOpenAPIVersions(t *testing.T) {
	k := startKapi(t)
	foo, waldo := confStr(confSchemaFoo), confStr(confSchemaWaldo)

	// Different groups.
	crdFoo := confSetup(t, k, confPublishCRD(t, "crd-publish-openapi-test-foo.example.com", "foo", confSchemaFoo, "v1"), foo)
	crdWaldo := confSetup(t, k, confPublishCRD(t, "crd-publish-openapi-test-waldo.example.com", "waldo", confSchemaWaldo, "v1beta1"), waldo)
	confWaitDefinition(t, k, confDefinitionName(crdWaldo, "v1beta1"), waldo)
	confWaitDefinition(t, k, confDefinitionName(crdFoo, "v1"), foo)
	confCleanup(t, k, crdFoo)
	confCleanup(t, k, crdWaldo)

	// One group, different versions: one CRD of two versions...
	multi := confSetup(t, k, confPublishCRD(t, "crd-publish-openapi-test-multi-ver.example.com", "multi-ver", confSchemaFoo, "v2", "v3"), foo)
	confWaitDefinition(t, k, confDefinitionName(multi, "v3"), foo)
	confWaitDefinition(t, k, confDefinitionName(multi, "v2"), foo)
	confCleanup(t, k, multi)
	// ... and two CRDs.
	const common = "crd-publish-openapi-test-common-group.example.com"
	crdFoo = confSetup(t, k, confPublishCRD(t, common, "foo", confSchemaFoo, "v4"), foo)
	crdWaldo = confSetup(t, k, confPublishCRD(t, common, "waldo", confSchemaWaldo, "v5"), waldo)
	confWaitDefinition(t, k, confDefinitionName(crdWaldo, "v5"), waldo)
	confWaitDefinition(t, k, confDefinitionName(crdFoo, "v4"), foo)
	roots := confV3Roots(t, k)
	if !roots["apis/"+common+"/v4"] || !roots["apis/"+common+"/v5"] {
		t.Errorf("the /openapi/v3 index lacks v4 or v5 of %s: %v", common, keys(roots))
	}
	confCleanup(t, k, crdFoo)
	confCleanup(t, k, crdWaldo)

	// One group and version, different kinds.
	crdFoo = confSetup(t, k, confPublishCRD(t, common, "foo", confSchemaFoo, "v6"), foo)
	crdWaldo = confSetup(t, k, confPublishCRD(t, common, "waldo", confSchemaWaldo, "v6"), waldo)
	confWaitDefinition(t, k, confDefinitionName(crdWaldo, "v6"), waldo)
	confWaitDefinition(t, k, confDefinitionName(crdFoo, "v6"), foo)
	doc := openapiV3(t, k, "apis/"+common+"/v6")
	for _, c := range []*apiextensionsv1.CustomResourceDefinition{crdFoo, crdWaldo} {
		if _, ok := doc.Components.Schemas[confDefinitionName(c, "v6")]; !ok {
			t.Errorf("/openapi/v3 of %s/v6 lacks %s", common, confDefinitionName(c, "v6"))
		}
	}
	confCleanup(t, k, crdFoo)
	// The other kind of the group-version stays published.
	confWaitDefinition(t, k, confDefinitionName(crdWaldo, "v6"), waldo)
	if doc := openapiV3(t, k, "apis/"+common+"/v6"); doc.Components.Schemas[confDefinitionName(crdFoo, "v6")] != nil ||
		doc.Components.Schemas[confDefinitionName(crdWaldo, "v6")] == nil {
		t.Errorf("/openapi/v3 of %s/v6 after one of its CRDs went: %v", common, keys(doc.Components.Schemas))
	}
	confCleanup(t, k, crdWaldo)

	// A version renamed.
	multi = confSetup(t, k, confPublishCRD(t, "crd-publish-openapi-test-multi-ver.example.com", "multi-ver", confSchemaFoo, "v2", "v3"), foo)
	patch := []byte(`[
		{"op":"test","path":"/spec/versions/1/name","value":"v3"},
		{"op": "replace", "path": "/spec/versions/1/name", "value": "v4"}
	]`)
	renamed, err := k.crdClient().ApiextensionsV1().CustomResourceDefinitions().Patch(context.Background(), multi.Name, types.JSONPatchType, patch, metav1.PatchOptions{})
	if err != nil {
		t.Fatalf("renaming v3: %v", err)
	}
	confWaitDefinition(t, k, confDefinitionName(renamed, "v4"), foo)
	confWaitNoDefinition(t, k, confDefinitionName(renamed, "v3"))
	confWaitDefinition(t, k, confDefinitionName(renamed, "v2"), foo)
	if err := waitUntil(30*time.Second, func() bool {
		roots := confV3Roots(t, k)
		g := "apis/" + renamed.Spec.Group + "/"
		return roots[g+"v2"] && roots[g+"v4"] && !roots[g+"v3"]
	}); err != nil {
		t.Errorf("the /openapi/v3 index after renaming v3 to v4: %v", keys(confV3Roots(t, k)))
	}
	confCleanup(t, k, renamed)

	// A version no longer served.
	crd := confSetup(t, k, confPublishCRD(t, "crd-publish-openapi-test-multi-to-single-ver.example.com", "multi-to-single-ver", confSchemaFoo, "v5", "v6alpha1"), foo)
	crd, err = k.crdClient().ApiextensionsV1().CustomResourceDefinitions().Get(context.Background(), crd.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	crd.Spec.Versions[1].Served = false
	crd, err = k.crdClient().ApiextensionsV1().CustomResourceDefinitions().Update(context.Background(), crd, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("not serving v6alpha1: %v", err)
	}
	confWaitNoDefinition(t, k, confDefinitionName(crd, "v6alpha1"))
	confWaitDefinition(t, k, confDefinitionName(crd, "v5"), foo)
	if err := waitUntil(30*time.Second, func() bool {
		roots := confV3Roots(t, k)
		g := "apis/" + crd.Spec.Group + "/"
		return roots[g+"v5"] && !roots[g+"v6alpha1"]
	}); err != nil {
		t.Errorf("the /openapi/v3 index after v6alpha1 is no longer served: %v", keys(confV3Roots(t, k)))
	}
	confCleanup(t, k, crd)
}

// confFieldValidationSchema is the schema of field_validation.go's
// custom resources; preserve makes spec preserve unknown fields
// and embedded adds spec.template, an embedded resource.
func confFieldValidationSchema(t *testing.T, preserve, embedded bool) *apiextensionsv1.CustomResourceValidation {
	t.Helper()
	extra := ""
	if preserve {
		extra += `"x-kubernetes-preserve-unknown-fields": true,`
	}
	template := ""
	if embedded {
		template = `"template": {"type": "object", "x-kubernetes-embedded-resource": true, "properties": {
			"metadata": {"type": "object", "properties": {"name": {"type": "string"}}},
			"spec": {"type": "object"}}},`
	}
	var c apiextensionsv1.CustomResourceValidation
	if err := json.Unmarshal([]byte(`{"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object", `+extra+` "properties": {
		`+template+`
		"foo": {"type": "string"},
		"cronSpec": {"type": "string", "pattern": "^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$"},
		"ports": {"type": "array", "x-kubernetes-list-map-keys": ["containerPort", "protocol"], "x-kubernetes-list-type": "map",
			"items": {"type": "object", "required": ["containerPort", "protocol"], "properties": {
				"containerPort": {"format": "int32", "type": "integer"},
				"hostIP": {"type": "string"},
				"hostPort": {"format": "int32", "type": "integer"},
				"name": {"type": "string"},
				"protocol": {"type": "string"}}}}}}}}}`), &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

// confMultiVersionCRD is the upstream fixtures' random multi-version
// CRD: cluster-scoped, v1beta1 served and v1 served and stored, both
// with a status subresource and the schema (anything when nil).
func confMultiVersionCRD(singular string, v *apiextensionsv1.CustomResourceValidation) *apiextensionsv1.CustomResourceDefinition {
	crd := confCRD(singular, apiextensionsv1.ClusterScoped)
	if v == nil {
		v = confAllowAll()
	}
	sub := &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}}
	crd.Spec.Versions = []apiextensionsv1.CustomResourceDefinitionVersion{
		{Name: "v1beta1", Served: true, Storage: false, Subresources: sub, Schema: v},
		{Name: "v1", Served: true, Storage: true, Subresources: sub.DeepCopy(), Schema: v.DeepCopy()},
	}
	return crd
}

// confWarnings are the texts of a response's Warning headers.
func confWarnings(h http.Header) []string {
	ws, _ := utilnet.ParseWarningHeaders(h.Values("Warning"))
	var out []string
	for _, w := range ws {
		out = append(out, w.Text)
	}
	return out
}

// TestCRDConformanceFieldValidation: the custom resource cases of
// field_validation.go, server-side apply with fieldValidation=Strict
// (a valid custom resource; unknown fields without a schema; an unknown
// field with one; unknown metadata fields at the root and in an embedded
// resource; duplicate fields in YAML while preserving unknown fields),
// and the same checks for JSON and YAML create bodies and a merge patch,
// with Strict, Warn and Ignore.
func TestCRDConformanceFieldValidation(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	apply := func(crd *apiextensionsv1.CustomResourceDefinition, name, validation, body string) (int, http.Header, []byte) {
		t.Helper()
		path := fmt.Sprintf("/apis/%s/%s/%s/%s?fieldManager=field_validation_mgr&fieldValidation=%s",
			crd.Spec.Group, crd.Spec.Versions[0].Name, crd.Spec.Names.Plural, name, validation)
		return k.request(t, "PATCH", path, "application/apply-patch+yaml", []byte(body), "Accept", "application/json")
	}
	notStored := func(crd *apiextensionsv1.CustomResourceDefinition, name, what string) {
		t.Helper()
		if _, err := k.crs(crd, "v1beta1", "").Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s: the custom resource was stored (%v)", what, err)
		}
	}

	// A valid custom resource, applied.
	valid := k.createCRD(t, confMultiVersionCRD("foovalida", confFieldValidationSchema(t, false, false)))
	code, _, body := apply(valid, "mytest", "Strict", fmt.Sprintf(`
apiVersion: %s/v1beta1
kind: %s
metadata:
  name: mytest
spec:
  foo: foo1
  cronSpec: "* * * * */5"
  ports:
  - name: x
    containerPort: 80
    protocol: TCP`, valid.Spec.Group, valid.Spec.Names.Kind))
	if code != http.StatusCreated {
		t.Errorf("applying a valid custom resource: %d %s", code, body)
	} else if got, err := k.crs(valid, "v1", "").Get(ctx, "mytest", metav1.GetOptions{}); err != nil {
		t.Errorf("reading the applied custom resource: %v", err)
	} else if port, _, _ := unstructured.NestedSlice(got.Object, "spec", "ports"); got.Object["spec"].(map[string]interface{})["foo"] != "foo1" || len(port) != 1 {
		t.Errorf("the applied custom resource: %v", got.Object)
	}

	// Unknown fields, no schema: applied and kept.
	noSchema := k.createCRD(t, confMultiVersionCRD("foonoschemaa", nil))
	code, _, body = apply(noSchema, "mytest", "Strict", fmt.Sprintf(`
apiVersion: %s/v1beta1
kind: %s
metadata:
  name: mytest
spec:
  unknown: uk1
  cronSpec: "* * * * */5"
  ports:
  - name: x
    containerPort: 80
    protocol: TCP`, noSchema.Spec.Group, noSchema.Spec.Names.Kind))
	if code != http.StatusCreated {
		t.Errorf("applying unknown fields without a schema: %d %s", code, body)
	} else if got, err := k.crs(noSchema, "v1beta1", "").Get(ctx, "mytest", metav1.GetOptions{}); err != nil || got.Object["spec"].(map[string]interface{})["unknown"] != "uk1" {
		t.Errorf("the custom resource applied without a schema: %v %v", err, got)
	}

	// An unknown field, with a schema: refused.
	extra := k.createCRD(t, confMultiVersionCRD("fooextraa", confFieldValidationSchema(t, false, false)))
	code, _, body = apply(extra, "mytest", "Strict", fmt.Sprintf(`
apiVersion: %s/v1beta1
kind: %s
metadata:
  name: mytest
unknownField: unknown
spec:
  foo: foo1
  cronSpec: "* * * * */5"
  ports:
  - name: x
    containerPort: 80
    protocol: TCP`, extra.Spec.Group, extra.Spec.Names.Kind))
	if code < 400 || !strings.Contains(string(body), `.unknownField: field not declared in schema`) {
		t.Errorf("applying an unknown field: %d %s", code, body)
	}
	notStored(extra, "mytest", "applying an unknown field")

	// Unknown metadata fields at the root and in an embedded resource.
	embedded := k.createCRD(t, confMultiVersionCRD("fooembeddeda", confFieldValidationSchema(t, true, true)))
	code, _, body = apply(embedded, "mytest", "Strict", fmt.Sprintf(`
apiVersion: %s/v1beta1
kind: %s
metadata:
  name: mytest
  unknownMeta: unknown
spec:
  template:
    apiversion: foo/v1
    kind: Sub
    metadata:
        unknownSubMeta: unknown
        name: subobject
        namespace: default
  foo: foo1
  cronSpec: "* * * * */5"
  ports:
  - name: x
    containerPort: 80
    protocol: TCP`, embedded.Spec.Group, embedded.Spec.Names.Kind))
	if code < 400 || (!strings.Contains(string(body), `.spec.template.metadata.unknownSubMeta: field not declared in schema`) &&
		!strings.Contains(string(body), `.metadata.unknownMeta: field not declared in schema`)) {
		t.Errorf("applying unknown metadata fields: %d %s", code, body)
	}
	notStored(embedded, "mytest", "applying unknown metadata fields")

	// Duplicate fields while preserving unknown fields: Strict refuses
	// them (400, naming the YAML line), Warn warns.
	dups := k.createCRD(t, confMultiVersionCRD("fooduplicatea", confFieldValidationSchema(t, true, false)))
	dupBody := fmt.Sprintf(`
apiVersion: %s/v1beta1
kind: %s
metadata:
  name: mytest
spec:
  unknown: uk1
  foo: foo1
  foo: foo2
  cronSpec: "* * * * */5"
  ports:
  - name: x
    containerPort: 80
    protocol: TCP`, dups.Spec.Group, dups.Spec.Names.Kind)
	code, _, body = apply(dups, "mytest", "Strict", dupBody)
	if code != http.StatusBadRequest || !strings.Contains(string(body), `line 9: key \"foo\" already set in map`) {
		t.Errorf("applying duplicate fields with Strict: %d %s", code, body)
	}
	notStored(dups, "mytest", "applying duplicate fields with Strict")
	code, hdr, body := apply(dups, "mytest", "Warn", dupBody)
	if w := confWarnings(hdr); code != http.StatusCreated || len(w) != 1 || !strings.Contains(w[0], `line 9: key "foo" already set in map`) {
		t.Errorf("applying duplicate fields with Warn: %d, warnings %q, %s", code, w, body)
	}

	// The same checks on create bodies: JSON with duplicate and unknown
	// fields, at the root, in metadata and in an embedded resource.
	objPath := fmt.Sprintf("/apis/%s/v1beta1/%s", embedded.Spec.Group, embedded.Spec.Names.Plural)
	jsonBody := func(name string) []byte {
		return []byte(fmt.Sprintf(`{"apiVersion":"%s/v1beta1","kind":"%s","metadata":{"name":"%s","unknownMeta":"x"},"unknownRoot":1,
			"spec":{"foo":"a","foo":"b","unknownSpec":1,
				"template":{"apiVersion":"v1","kind":"Sub","metadata":{"name":"sub","unknownSubMeta":"x"},"unknownTemplate":1},
				"ports":[{"containerPort":80,"protocol":"TCP","containerPort":81}]}}`, embedded.Spec.Group, embedded.Spec.Names.Kind, name))
	}
	wantStrict := []string{`duplicate field "spec.foo"`, `duplicate field "spec.ports[0].containerPort"`, `unknown field "metadata.unknownMeta"`,
		`unknown field "unknownRoot"`, `unknown field "spec.template.unknownTemplate"`, `unknown field "spec.template.metadata.unknownSubMeta"`}
	code, st, raw := k.do(t, "POST", objPath+"?fieldValidation=Strict", "application/json", jsonBody("strict"))
	// kube-apiserver's transformDecodeError words it.
	prefix := fmt.Sprintf(`%s in version "v1beta1" cannot be handled as a %s: strict decoding error: `, embedded.Spec.Names.Kind, embedded.Spec.Names.Kind)
	if code != http.StatusBadRequest || st == nil || st.Reason != metav1.StatusReasonBadRequest || !strings.HasPrefix(st.Message, prefix) {
		t.Errorf("a JSON body with duplicate and unknown fields, Strict: %d %s", code, raw)
	} else {
		for _, want := range wantStrict {
			if !strings.Contains(st.Message, want) {
				t.Errorf("Strict: %q lacks %s", st.Message, want)
			}
		}
		// Duplicates (found decoding) come before unknown fields (found
		// pruning).
		if strings.LastIndex(st.Message, "duplicate field") > strings.Index(st.Message, "unknown field") {
			t.Errorf("Strict: duplicate fields listed after unknown ones: %q", st.Message)
		}
		// spec preserves unknown fields: spec.unknownSpec is not unknown.
		if strings.Contains(st.Message, "unknownSpec") {
			t.Errorf("Strict: a field of a subtree preserving unknown fields is reported: %q", st.Message)
		}
	}
	notStored(embedded, "strict", "a JSON body with duplicate and unknown fields, Strict")
	code, hdr, raw = k.request(t, "POST", objPath+"?fieldValidation=Warn", "application/json", jsonBody("warn"), "Accept", "application/json")
	if w := confWarnings(hdr); code != http.StatusCreated || !confSameSet(w, wantStrict) {
		t.Errorf("a JSON body with duplicate and unknown fields, Warn: %d, warnings %q, want %q; %s", code, w, wantStrict, raw)
	}
	if got, err := k.crs(embedded, "v1beta1", "").Get(ctx, "warn", metav1.GetOptions{}); err != nil {
		t.Errorf("the custom resource created with Warn: %v", err)
	} else {
		spec := got.Object["spec"].(map[string]interface{})
		tmpl, _ := spec["template"].(map[string]interface{})
		if spec["foo"] != "b" || spec["unknownSpec"] != int64(1) || got.Object["unknownRoot"] != nil || tmpl == nil || tmpl["unknownTemplate"] != nil {
			t.Errorf("the custom resource created with Warn (the last duplicate kept, unknown fields pruned): %v", got.Object)
		}
	}
	code, hdr, raw = k.request(t, "POST", objPath+"?fieldValidation=Ignore", "application/json", jsonBody("ignore"), "Accept", "application/json")
	if w := confWarnings(hdr); code != http.StatusCreated || len(w) != 0 {
		t.Errorf("a JSON body with duplicate and unknown fields, Ignore: %d, warnings %q; %s", code, w, raw)
	}

	// A YAML body: the duplicate named by its line, the unknown field by
	// its path.
	yamlBody := fmt.Sprintf("apiVersion: %s/v1beta1\nkind: %s\nmetadata:\n  name: yaml\nunknownRoot: 1\nspec:\n  foo: a\n  foo: b\n",
		embedded.Spec.Group, embedded.Spec.Names.Kind)
	code, st, raw = k.do(t, "POST", objPath+"?fieldValidation=Strict", "application/yaml", []byte(yamlBody))
	if code != http.StatusBadRequest || st == nil || !strings.Contains(st.Message, `line 8: key "foo" already set in map`) ||
		!strings.Contains(st.Message, `unknown field "unknownRoot"`) {
		t.Errorf("a YAML body with a duplicate and an unknown field, Strict: %d %s", code, raw)
	}
	notStored(embedded, "yaml", "a YAML body with a duplicate and an unknown field, Strict")
	// With Warn, each is a warning; the YAML error is cut into its lines
	// (kube-apiserver's parseYAMLWarnings), as a warning has no line
	// breaks.
	code, hdr, raw = k.request(t, "POST", objPath+"?fieldValidation=Warn", "application/yaml", []byte(yamlBody), "Accept", "application/json")
	if w, want := confWarnings(hdr), []string{`line 8: key "foo" already set in map`, `unknown field "unknownRoot"`}; code != http.StatusCreated || !confSameSet(w, want) {
		t.Errorf("a YAML body with a duplicate and an unknown field, Warn: %d, warnings %q, want %q; %s", code, w, want, raw)
	}

	// A merge patch adding an unknown field: Strict refuses it as
	// kube-apiserver's patch handler does, a 422 on the field "patch".
	patchPath := objPath + "/warn?fieldValidation=Strict"
	code, st, raw = k.do(t, "PATCH", patchPath, "application/merge-patch+json", []byte(`{"unknownRoot":2}`))
	if code != http.StatusUnprocessableEntity || st == nil || st.Details == nil || !hasCause(st.Details.Causes, "patch") ||
		!strings.Contains(st.Message, `strict decoding error: unknown field "unknownRoot"`) {
		t.Errorf("a merge patch with an unknown field, Strict: %d %s", code, raw)
	}
}

// TestCRDConformanceAggregatedDiscovery: the CRD cases of
// aggregated_discovery.go: a CRD (namespaced, of a lower-case kind, in a
// group of its own) is in the aggregated discovery document of /apis,
// read raw and through client-go's aggregated discovery; so is
// apiextensions.k8s.io/v1 customresourcedefinitions, and /api's is
// aggregated too.
func TestCRDConformanceAggregatedDiscovery(t *testing.T) {
	k := startKapi(t)
	const accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
	groupName := "groupx7k2p.example.com"
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "testcrds." + groupName},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group:    groupName,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true, Schema: confAllowAll()}},
			Names:    apiextensionsv1.CustomResourceDefinitionNames{Plural: "testcrds", Singular: "testcrd", Kind: "testcrd", ListKind: "testcrdList"},
			Scope:    apiextensionsv1.NamespaceScoped,
		},
	}
	crd = confCreate(t, k, crd)
	gvr := schema.GroupVersionResource{Group: groupName, Version: "v1", Resource: "testcrds"}

	raw := func(path string) apidiscoveryv2.APIGroupDiscoveryList {
		t.Helper()
		code, _, body := k.do(t, "GET", path, "", nil, "Accept", accept)
		var l apidiscoveryv2.APIGroupDiscoveryList
		if err := json.Unmarshal(body, &l); code != 200 || err != nil || l.Kind != "APIGroupDiscoveryList" {
			t.Fatalf("aggregated %s: %d %v %.300s", path, code, err, body)
		}
		return l
	}
	find := func(l apidiscoveryv2.APIGroupDiscoveryList, gvr schema.GroupVersionResource) *apidiscoveryv2.APIResourceDiscovery {
		for _, g := range l.Items {
			if g.Name != gvr.Group {
				continue
			}
			for _, v := range g.Versions {
				if v.Version != gvr.Version {
					continue
				}
				for i := range v.Resources {
					if v.Resources[i].Resource == gvr.Resource {
						return &v.Resources[i]
					}
				}
			}
		}
		return nil
	}
	var r *apidiscoveryv2.APIResourceDiscovery
	if err := waitUntil(30*time.Second, func() bool { r = find(raw("/apis"), gvr); return r != nil }); err != nil {
		t.Fatalf("%v is not in the aggregated discovery of /apis", gvr)
	}
	if r.Scope != apidiscoveryv2.ScopeNamespace || r.SingularResource != "testcrd" || r.ResponseKind == nil ||
		*r.ResponseKind != (metav1.GroupVersionKind{Group: groupName, Version: "v1", Kind: "testcrd"}) ||
		!confSameSet(r.Verbs, []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}) {
		t.Errorf("%v in aggregated discovery: %+v", gvr, r)
	}
	crdGVR := apiextensionsv1.SchemeGroupVersion.WithResource("customresourcedefinitions")
	if r := find(raw("/apis"), crdGVR); r == nil || r.Scope != apidiscoveryv2.ScopeCluster || len(r.Subresources) != 1 || r.Subresources[0].Subresource != "status" {
		t.Errorf("%v in aggregated discovery: %+v", crdGVR, r)
	}
	if find(raw("/api"), schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}) == nil {
		t.Error("v1 namespaces is not in the aggregated discovery of /api")
	}

	// client-go's aggregated discovery interface.
	ad, ok := k.client.Discovery().(discovery.AggregatedDiscoveryInterface)
	if !ok {
		t.Fatal("client-go's discovery client is not an AggregatedDiscoveryInterface")
	}
	var byGV map[schema.GroupVersion]*metav1.APIResourceList
	var groups *metav1.APIGroupList
	if err := waitUntil(30*time.Second, func() bool {
		var err error
		groups, byGV, _, err = ad.GroupsAndMaybeResources()
		if err != nil {
			t.Fatalf("GroupsAndMaybeResources: %v", err)
		}
		l := byGV[gvr.GroupVersion()]
		if l == nil {
			return false
		}
		for _, res := range l.APIResources {
			if res.Name == gvr.Resource {
				return true
			}
		}
		return false
	}); err != nil {
		t.Errorf("%v is not among the resources of client-go's aggregated discovery", gvr)
	}
	if byGV == nil {
		t.Fatal("client-go's aggregated discovery returned no resources: the server's answer was not aggregated")
	}
	for _, gv := range []schema.GroupVersion{gvr.GroupVersion(), apiextensionsv1.SchemeGroupVersion, {Version: "v1"}} {
		found := false
		for _, g := range groups.Groups {
			if g.Name == gv.Group && confHasVersion(g.Versions, gv.Version) {
				found = true
			}
		}
		if !found {
			t.Errorf("%v is not among the groups of client-go's aggregated discovery", gv)
		}
	}
	if l := byGV[apiextensionsv1.SchemeGroupVersion]; l == nil {
		t.Errorf("no apiextensions.k8s.io/v1 resources in client-go's aggregated discovery")
	}
}

// TestCRDConformanceTables: custom resources as Tables in meta.k8s.io
// v1beta1 (table_conversion.go asks for those): one object, and a list
// read in chunks with its continue token.
func TestCRDConformanceTables(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	crd := confCreate(t, k, confCRD("footablea", apiextensionsv1.NamespaceScoped))
	crs := k.crs(crd, "v1beta1", "default")
	for i := 0; i < 5; i++ {
		u := &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": "mygroup.example.com/v1beta1", "kind": crd.Spec.Names.Kind,
			"metadata": map[string]interface{}{"name": fmt.Sprintf("template-%04d", i)}}}
		if _, err := crs.Create(ctx, u, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	const accept = "application/json;as=Table;v=v1beta1;g=meta.k8s.io"
	path := "/apis/mygroup.example.com/v1beta1/namespaces/default/" + crd.Spec.Names.Plural
	table := func(p string) *metav1beta1.Table {
		t.Helper()
		code, _, body := k.do(t, "GET", p, "", nil, "Accept", accept)
		var tb metav1beta1.Table
		if err := json.Unmarshal(body, &tb); code != 200 || err != nil || tb.Kind != "Table" {
			t.Fatalf("GET %s as a v1beta1 Table: %d %v %.300s", p, code, err, body)
		}
		// kube-apiserver encodes the Table, and the PartialObjectMetadata
		// of its rows, in the version asked for.
		if tb.APIVersion != "meta.k8s.io/v1beta1" {
			t.Errorf("GET %s as a v1beta1 Table: the answer is a %s Table", p, tb.APIVersion)
		}
		for _, row := range tb.Rows {
			var m metav1.TypeMeta
			if err := json.Unmarshal(row.Object.Raw, &m); err != nil || m.APIVersion != "meta.k8s.io/v1beta1" || m.Kind != "PartialObjectMetadata" {
				t.Errorf("GET %s as a v1beta1 Table: a row's object is %s %v", p, row.Object.Raw, err)
				break
			}
		}
		return &tb
	}
	one := table(path + "/template-0001")
	if len(one.ColumnDefinitions) < 2 || one.ColumnDefinitions[0].Name != "Name" || len(one.Rows) != 1 ||
		len(one.Rows[0].Cells) != len(one.ColumnDefinitions) || one.Rows[0].Cells[0] != "template-0001" {
		t.Errorf("one custom resource as a Table: %+v", one)
	}
	page := table(path + "?limit=2")
	if len(page.Rows) != 2 || page.ResourceVersion == "" || page.Continue == "" ||
		page.Rows[0].Cells[0] != "template-0000" || page.Rows[1].Cells[0] != "template-0001" {
		t.Fatalf("the first chunk: %+v", page)
	}
	next := table(path + "?continue=" + page.Continue)
	if len(next.Rows) != 3 || next.Rows[0].Cells[0] != "template-0002" || next.Continue != "" {
		t.Errorf("the next chunk: %+v", next)
	}
}
