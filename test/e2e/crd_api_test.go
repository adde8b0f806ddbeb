package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

func widget(name string, spec map[string]interface{}) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": "example.com/v1", "kind": "Widget",
		"metadata": map[string]interface{}{"name": name}, "spec": spec}}
	return u
}

// TestCRDVerbs: every verb on custom resources through client-go's
// dynamic client, with kube-apiserver's semantics: selectors (label,
// metadata fields, the version's selectableFields), paging, watch with
// resume and bookmarks, the three patch types (strategic merge refused),
// delete and deletecollection, generations and the status subresource.
func TestCRDVerbs(t *testing.T) {
	k := startKapi(t)
	crd := k.createCRD(t, widgetCRD())
	ctx := context.Background()
	ws := k.crs(crd, "v1", "default")

	w, err := ws.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for i := 0; i < 5; i++ {
		color := []string{"red", "blue", "green"}[i%3]
		u := widget(fmt.Sprintf("w%d", i), map[string]interface{}{"color": color, "replicas": int64(i)})
		u.SetLabels(map[string]string{"n": fmt.Sprint(i % 2)})
		out, err := ws.Create(ctx, u, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if out.GetGeneration() != 1 || out.GetUID() == "" || out.GetResourceVersion() == "" || out.GetCreationTimestamp().Time.IsZero() {
			t.Fatalf("created %+v", out.Object["metadata"])
		}
	}
	for i := 0; i < 5; i++ {
		select {
		case ev := <-w.ResultChan():
			if ev.Type != watch.Added || ev.Object.(*unstructured.Unstructured).GetKind() != "Widget" {
				t.Fatalf("watch event %s %v", ev.Type, ev.Object)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no watch event")
		}
	}
	if _, err := ws.Create(ctx, widget("w0", nil), metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Errorf("create twice: %v", err)
	}

	list, err := ws.List(ctx, metav1.ListOptions{LabelSelector: "n=1"})
	if err != nil || len(list.Items) != 2 {
		t.Fatalf("label selector: %v, %d items", err, len(list.Items))
	}
	// List items carry their kind, as kube-apiserver's lists of custom
	// resources do.
	if list.Items[0].GetKind() != "Widget" || list.GetKind() != "WidgetList" {
		t.Errorf("list kinds: %s / %s", list.GetKind(), list.Items[0].GetKind())
	}
	if list, err := ws.List(ctx, metav1.ListOptions{FieldSelector: "spec.color=blue"}); err != nil || len(list.Items) != 2 {
		t.Errorf("selectable field: %v, %d items", err, len(list.Items))
	}
	if list, err := ws.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=w3"}); err != nil || len(list.Items) != 1 {
		t.Errorf("metadata.name selector: %v", err)
	}
	if _, err := ws.List(ctx, metav1.ListOptions{FieldSelector: "spec.replicas=1"}); !apierrors.IsBadRequest(err) {
		t.Errorf("a field that is not selectable: %v", err)
	}
	page, err := ws.List(ctx, metav1.ListOptions{Limit: 2})
	if err != nil || len(page.Items) != 2 || page.GetContinue() == "" {
		t.Fatalf("page 1: %v", err)
	}
	rest, err := ws.List(ctx, metav1.ListOptions{Limit: 10, Continue: page.GetContinue()})
	if err != nil || len(rest.Items) != 3 {
		t.Fatalf("page 2: %v, %d", err, len(rest.Items))
	}
	all, err := k.crs(crd, "v1", "").List(ctx, metav1.ListOptions{})
	if err != nil || len(all.Items) != 5 {
		t.Fatalf("all namespaces: %v", err)
	}

	// Update: a spec change counts a generation, a metadata change does
	// not; the status of the body is ignored (the status subresource
	// owns it).
	cur, _ := ws.Get(ctx, "w1", metav1.GetOptions{})
	cur.Object["spec"].(map[string]interface{})["replicas"] = int64(7)
	cur.Object["status"] = map[string]interface{}{"replicas": int64(7)}
	up, err := ws.Update(ctx, cur, metav1.UpdateOptions{})
	if err != nil || up.GetGeneration() != 2 || up.Object["status"] != nil {
		t.Fatalf("update: %v gen %d status %v", err, up.GetGeneration(), up.Object["status"])
	}
	up.SetLabels(map[string]string{"changed": "yes"})
	if up, err = ws.Update(ctx, up, metav1.UpdateOptions{}); err != nil || up.GetGeneration() != 2 {
		t.Fatalf("metadata update: %v gen %d", err, up.GetGeneration())
	}
	stale := up.DeepCopy()
	stale.SetResourceVersion(cur.GetResourceVersion())
	if _, err := ws.Update(ctx, stale, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("stale update: %v", err)
	}
	// Status: a write through /status changes the status only.
	up.Object["status"] = map[string]interface{}{"replicas": int64(3)}
	up.Object["spec"].(map[string]interface{})["replicas"] = int64(100)
	up.SetLabels(map[string]string{"through": "status"})
	st, err := ws.UpdateStatus(ctx, up, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.GetGeneration() != 2 || st.Object["spec"].(map[string]interface{})["replicas"] != int64(7) || st.GetLabels()["changed"] != "yes" ||
		st.Object["status"].(map[string]interface{})["replicas"] != int64(3) {
		t.Errorf("status update: %v", st.Object)
	}

	// Patches: JSON patch and merge patch; strategic merge is 415.
	if p, err := ws.Patch(ctx, "w2", types.MergePatchType, []byte(`{"spec":{"note":"merged"}}`), metav1.PatchOptions{}); err != nil ||
		p.Object["spec"].(map[string]interface{})["note"] != "merged" {
		t.Errorf("merge patch: %v", err)
	}
	if p, err := ws.Patch(ctx, "w2", types.JSONPatchType, []byte(`[{"op":"replace","path":"/spec/replicas","value":4}]`), metav1.PatchOptions{}); err != nil ||
		p.Object["spec"].(map[string]interface{})["replicas"] != int64(4) {
		t.Errorf("json patch: %v", err)
	}
	_, err = ws.Patch(ctx, "w2", types.StrategicMergePatchType, []byte(`{"spec":{"note":"x"}}`), metav1.PatchOptions{})
	if se, ok := err.(apierrors.APIStatus); !ok || se.Status().Code != http.StatusUnsupportedMediaType {
		t.Errorf("strategic merge patch: %v", err)
	}
	if _, err := ws.Patch(ctx, "w2", types.JSONPatchType, []byte(`[{"op":"test","path":"/spec/replicas","value":99}]`), metav1.PatchOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("failed json patch test: %v", err)
	}

	// Watch: resume from a resourceVersion sees what came after.
	from := up.GetResourceVersion()
	w2, err := ws.Watch(ctx, metav1.ListOptions{ResourceVersion: from, AllowWatchBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Stop()
	if err := ws.Delete(ctx, "w0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	seen := map[watch.EventType]bool{}
	timeout := time.After(10 * time.Second)
	for !seen[watch.Deleted] {
		select {
		case ev := <-w2.ResultChan():
			seen[ev.Type] = true
		case <-timeout:
			t.Fatalf("resumed watch: %v", seen)
		}
	}
	if !seen[watch.Modified] {
		t.Errorf("resumed watch saw %v, not the status and patch writes after %s", seen, from)
	}

	// Finalizers keep a deleted object; deletecollection takes a
	// selector.
	fin := widget("fin", nil)
	fin.SetFinalizers([]string{"example.com/keep"})
	if _, err := ws.Create(ctx, fin, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := ws.Delete(ctx, "fin", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := ws.Get(ctx, "fin", metav1.GetOptions{}); err != nil || got.GetDeletionTimestamp() == nil {
		t.Fatalf("finalized widget: %v", err)
	}
	if _, err := ws.Patch(ctx, "fin", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ws.Get(ctx, "fin", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("finalizer removed, still there: %v", err)
	}
	if err := ws.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "n=0"}); err != nil {
		t.Fatal(err)
	}
	if list, _ := ws.List(ctx, metav1.ListOptions{}); len(list.Items) != 2 {
		t.Errorf("after deletecollection n=0: %d left, want 2", len(list.Items))
	}
}

// TestCRDContent: custom resources are JSON and YAML; protobuf is 406 for
// the object (kube-apiserver does not encode them as protobuf) but
// served for Tables and metadata; Tables print the version's columns;
// the objects are stored as JSON under kube's keys.
func TestCRDContent(t *testing.T) {
	k := startKapi(t)
	crd := k.createCRD(t, widgetCRD())
	ctx := context.Background()
	if _, err := k.crs(crd, "v1", "default").Create(ctx, widget("c1", map[string]interface{}{"replicas": int64(2), "note": "n"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	path := "/apis/example.com/v1/namespaces/default/widgets"
	// The 406 Status itself comes as protobuf, as kube-apiserver's.
	code, _, body := k.do(t, "GET", path+"/c1", "", nil, "Accept", "application/vnd.kubernetes.protobuf")
	if code != 406 || !strings.Contains(string(body), "NotAcceptable") {
		t.Errorf("protobuf: %d %s", code, body)
	}
	if code, _, body := k.do(t, "GET", path+"/c1", "", nil, "Accept", "application/vnd.kubernetes.protobuf, application/json"); code != 200 || !strings.HasPrefix(string(body), "{") {
		t.Errorf("protobuf or JSON: %d", code)
	}
	if code, _, body := k.do(t, "POST", path, "application/vnd.kubernetes.protobuf", []byte("k8s\x00"), "Accept", "application/json"); code != 415 {
		t.Errorf("a protobuf body: %d %s", code, body)
	}
	code, _, body = k.do(t, "GET", path+"/c1", "", nil, "Accept", "application/yaml")
	if code != 200 || !strings.Contains(string(body), "kind: Widget") {
		t.Errorf("YAML: %d %s", code, body)
	}
	code, _, body = k.do(t, "POST", path, "application/yaml", []byte("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: c2\nspec:\n  replicas: 4\n"))
	if code != 201 {
		t.Errorf("YAML create: %d %s", code, body)
	}

	code, _, body = k.do(t, "GET", path, "", nil, "Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	var table metav1.Table
	if err := json.Unmarshal(body, &table); code != 200 || err != nil {
		t.Fatalf("Table: %d %v %s", code, err, body)
	}
	var cols []string
	for _, c := range table.ColumnDefinitions {
		cols = append(cols, fmt.Sprintf("%s/%s/%d", c.Name, c.Type, c.Priority))
	}
	if strings.Join(cols, " ") != "Name/string/0 Color/string/0 Replicas/integer/0 Note/string/1 Age/date/0" {
		t.Errorf("columns %v", cols)
	}
	if len(table.Rows) != 2 || table.Rows[0].Cells[0] != "c1" || table.Rows[0].Cells[1] != "red" || table.Rows[0].Cells[2] != float64(2) ||
		table.Rows[0].Cells[3] != "n" || table.Rows[1].Cells[3] != nil {
		t.Errorf("rows %+v", table.Rows)
	}
	if code, _, body := k.do(t, "GET", path, "", nil, "Accept", "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"); code != 200 || !strings.HasPrefix(string(body), "k8s\x00") {
		t.Errorf("PartialObjectMetadataList as protobuf: %d", code)
	}
	code, _, body = k.do(t, "GET", path+"/c1", "", nil, "Accept", "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io")
	var pom map[string]interface{}
	if err := json.Unmarshal(body, &pom); code != 200 || err != nil || pom["kind"] != "PartialObjectMetadata" || pom["spec"] != nil {
		t.Errorf("PartialObjectMetadata: %d %s", code, body)
	}

	resp, err := k.srv.Etcd().Get(ctx, "/registry/example.com/widgets/default/c1")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("etcd key: %v", err)
	}
	var stored map[string]interface{}
	if err := json.Unmarshal(resp.Kvs[0].Value, &stored); err != nil || stored["kind"] != "Widget" || stored["apiVersion"] != "example.com/v1" {
		t.Errorf("stored as %q: %v", resp.Kvs[0].Value, err)
	}
}

// TestCRDLifecycle: conditions, accepted names and stored versions of a
// CRD; a name another CRD of the group, or a built-in resource, holds is
// not accepted; an invalid CRD is a 422 naming the field; a CRD being
// deleted refuses new custom resources and stays until its custom
// resources (and their finalizers) are gone.
func TestCRDLifecycle(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	crds := k.crdClient().ApiextensionsV1().CustomResourceDefinitions()
	crd := k.createCRD(t, widgetCRD())
	conds := map[apiextensionsv1.CustomResourceDefinitionConditionType]apiextensionsv1.CustomResourceDefinitionCondition{}
	for _, c := range crd.Status.Conditions {
		conds[c.Type] = c
	}
	if c := conds[apiextensionsv1.NamesAccepted]; c.Status != "True" || c.Reason != "NoConflicts" {
		t.Errorf("NamesAccepted %+v", c)
	}
	if c := conds[apiextensionsv1.Established]; c.Status != "True" || c.Reason != "InitialNamesAccepted" {
		t.Errorf("Established %+v", c)
	}
	if an := crd.Status.AcceptedNames; an.Plural != "widgets" || an.Kind != "Widget" || an.ListKind != "WidgetList" || len(an.ShortNames) != 1 {
		t.Errorf("accepted names %+v", an)
	}
	if sv := crd.Status.StoredVersions; len(sv) != 1 || sv[0] != "v1" {
		t.Errorf("stored versions %v", sv)
	}
	if len(crd.Finalizers) != 0 || crd.Generation != 1 {
		t.Errorf("finalizers %v, generation %d", crd.Finalizers, crd.Generation)
	}

	// Names in conflict: the list kind of another CRD of the group.
	gadget := widgetCRD()
	gadget.Name, gadget.Spec.Names = "gadgets.example.com", apiextensionsv1.CustomResourceDefinitionNames{Plural: "gadgets", Kind: "Gadget", ListKind: "WidgetList"}
	if _, err := crds.Create(ctx, gadget, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	conflict := func(name, reason string) {
		t.Helper()
		var got *apiextensionsv1.CustomResourceDefinition
		if err := waitUntil(5*time.Second, func() bool {
			got, _ = crds.Get(ctx, name, metav1.GetOptions{})
			for _, c := range got.Status.Conditions {
				if c.Type == apiextensionsv1.NamesAccepted && c.Status == "False" && c.Reason == reason {
					return true
				}
			}
			return false
		}); err != nil {
			t.Fatalf("%s: no NamesAccepted False %s: %+v", name, reason, got.Status)
		}
	}
	conflict("gadgets.example.com", "ListKindConflict")
	if _, err := k.dynamic.Resource(crGVR(gadget, "v1")).Namespace("default").List(ctx, metav1.ListOptions{}); err == nil {
		t.Error("a CRD whose names are not accepted is served")
	}
	// ... and a built-in resource's name in its group.
	roles := widgetCRD()
	roles.Name, roles.Spec.Group = "roles.rbac.authorization.k8s.io", "rbac.authorization.k8s.io"
	roles.Annotations = map[string]string{"api-approved.kubernetes.io": "unapproved, for a test"}
	roles.Spec.Names = apiextensionsv1.CustomResourceDefinitionNames{Plural: "roles", Kind: "MyRole"}
	if _, err := crds.Create(ctx, roles, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	conflict("roles.rbac.authorization.k8s.io", "PluralConflict")
	if _, err := k.client.RbacV1().Roles("default").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("the built-in roles after a conflicting CRD: %v", err)
	}
	r, _ := crds.Get(ctx, roles.Name, metav1.GetOptions{})
	if c := condition(r, apiextensionsv1.KubernetesAPIApprovalPolicyConformant); c == nil || c.Status != "False" || c.Reason != "UnapprovedAnnotation" {
		t.Errorf("API approval of a k8s.io group: %+v", c)
	}

	// Invalid CRDs: 422 naming the field, nothing stored.
	for _, c := range []struct {
		change func(*apiextensionsv1.CustomResourceDefinition)
		field  string
	}{
		{func(c *apiextensionsv1.CustomResourceDefinition) { c.Name = "wrong.example.com" }, "metadata.name"},
		{func(c *apiextensionsv1.CustomResourceDefinition) { c.Spec.Versions[0].Storage = false }, "spec.versions"},
		{func(c *apiextensionsv1.CustomResourceDefinition) { c.Spec.Scope = "Galaxy" }, "spec.scope"},
		{func(c *apiextensionsv1.CustomResourceDefinition) {
			c.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"] = apiextensionsv1.JSONSchemaProps{}
			// kube-apiserver names a schema all versions share at the
			// top (spec.validation), where its internal version holds it.
		}, "spec.validation.openAPIV3Schema.properties[spec].type"},
		{func(c *apiextensionsv1.CustomResourceDefinition) {
			s := c.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
			s.XValidations = apiextensionsv1.ValidationRules{{Rule: "self.nosuch > 1"}}
			c.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"] = s
		}, "spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule"},
	} {
		bad := widgetCRD()
		bad.Name, bad.Spec.Names.Plural = "things.example.com", "things"
		bad.Spec.Names.Kind, bad.Spec.Names.ListKind, bad.Spec.Names.ShortNames, bad.Spec.Names.Singular = "Thing", "ThingList", nil, "thing"
		c.change(bad)
		_, err := crds.Create(ctx, bad, metav1.CreateOptions{})
		se, ok := err.(apierrors.APIStatus)
		if !apierrors.IsInvalid(err) || !ok || se.Status().Details == nil || !hasCause(se.Status().Details.Causes, c.field) {
			t.Errorf("invalid CRD (%s): %v", c.field, err)
		}
	}
	if _, err := crds.Get(ctx, "things.example.com", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("an invalid CRD was stored: %v", err)
	}

	// Deletion: Terminating, creates refused, the custom resources
	// deleted, the CRD kept until a finalizer of one is removed.
	ws := k.crs(crd, "v1", "default")
	held := widget("held", nil)
	held.SetFinalizers([]string{"example.com/hold"})
	if _, err := ws.Create(ctx, held, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ws.Create(ctx, widget("plain", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := crds.Delete(ctx, crd.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// The widget first, then the CRD: the controller writes its
	// condition before it deletes, so a CRD read after the widget went
	// shows InstanceDeletionInProgress (read before, it may still show
	// the registry's InstanceDeletionPending).
	var terminating *apiextensionsv1.CustomResourceDefinition
	if err := waitUntil(10*time.Second, func() bool {
		_, err := ws.Get(ctx, "plain", metav1.GetOptions{})
		terminating, _ = crds.Get(ctx, crd.Name, metav1.GetOptions{})
		return terminating != nil && apierrors.IsNotFound(err)
	}); err != nil {
		t.Fatalf("plain widget not deleted: %+v", terminating)
	}
	if terminating.DeletionTimestamp == nil || !contains(terminating.Finalizers, "customresourcecleanup.apiextensions.k8s.io") {
		t.Errorf("terminating CRD: %+v %v", terminating.DeletionTimestamp, terminating.Finalizers)
	}
	if c := condition(terminating, apiextensionsv1.Terminating); c == nil || c.Status != "True" || c.Reason != "InstanceDeletionInProgress" {
		t.Errorf("Terminating condition %+v", c)
	}
	_, err := ws.Create(ctx, widget("late", nil), metav1.CreateOptions{})
	if !apierrors.IsMethodNotSupported(err) || !strings.Contains(err.Error(), "create not allowed while custom resource definition is terminating") {
		t.Errorf("create while terminating: %v", err)
	}
	if got, err := ws.Get(ctx, "held", metav1.GetOptions{}); err != nil || got.GetDeletionTimestamp() == nil {
		t.Fatalf("held widget: %v", err)
	}
	if _, err := ws.Patch(ctx, "held", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := waitUntil(10*time.Second, func() bool {
		_, err := crds.Get(ctx, crd.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}); err != nil {
		t.Fatal("the CRD stays after its custom resources went")
	}
	// Its names are free again: the gadgets' list kind is accepted.
	if err := waitUntil(10*time.Second, func() bool {
		g, _ := crds.Get(ctx, "gadgets.example.com", metav1.GetOptions{})
		c := condition(g, apiextensionsv1.NamesAccepted)
		return c != nil && c.Status == "True"
	}); err != nil {
		t.Error("gadgets' names are not accepted once widgets went")
	}
}

func hasCause(causes []metav1.StatusCause, field string) bool {
	for _, c := range causes {
		if c.Field == field {
			return true
		}
	}
	return false
}

func condition(crd *apiextensionsv1.CustomResourceDefinition, t apiextensionsv1.CustomResourceDefinitionConditionType) *apiextensionsv1.CustomResourceDefinitionCondition {
	if crd == nil {
		return nil
	}
	for i := range crd.Status.Conditions {
		if crd.Status.Conditions[i].Type == t {
			return &crd.Status.Conditions[i]
		}
	}
	return nil
}

// TestCRDBadInput: a custom resource that fails its schema is a 422 and
// nothing is stored; a version that is not served is 404; a body over 3
// MiB is 413.
func TestCRDBadInput(t *testing.T) {
	k := startKapi(t)
	crd := widgetCRD()
	crd.Spec.Versions = append(crd.Spec.Versions, *crd.Spec.Versions[0].DeepCopy())
	crd.Spec.Versions[1].Name, crd.Spec.Versions[1].Storage, crd.Spec.Versions[1].Served = "v2", false, false
	crd = k.createCRD(t, crd)
	ctx := context.Background()
	ws := k.crs(crd, "v1", "default")
	_, err := ws.Create(ctx, widget("bad", map[string]interface{}{"replicas": int64(-1), "color": "pink"}), metav1.CreateOptions{})
	if se, ok := err.(apierrors.APIStatus); !apierrors.IsInvalid(err) || !ok || !hasCause(se.Status().Details.Causes, "spec.replicas") || !hasCause(se.Status().Details.Causes, "spec.color") {
		t.Errorf("bad widget: %v", err)
	}
	if _, err := ws.Get(ctx, "bad", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a bad widget was stored: %v", err)
	}
	if _, err := k.crs(crd, "v2", "default").List(ctx, metav1.ListOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a version not served: %v", err)
	}
	big := widget("big", map[string]interface{}{"note": strings.Repeat("x", 3<<20+1)})
	if _, err := ws.Create(ctx, big, metav1.CreateOptions{}); !apierrors.IsRequestEntityTooLargeError(err) {
		t.Errorf("a body over 3 MiB: %v", err)
	}
	if code, st, body := k.do(t, "POST", "/apis/example.com/v1/namespaces/default/widgets", "application/json", []byte(`{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"x"},"spec":`)); code != 400 || st == nil {
		t.Errorf("malformed JSON: %d %s", code, body)
	}
	if code, _, body := k.do(t, "POST", "/apis/example.com/v1/namespaces/default/widgets", "application/json", []byte(`{"apiVersion":"example.com/v2","kind":"Widget","metadata":{"name":"x"}}`)); code != 400 ||
		!strings.Contains(string(body), "does not match the expected API version") {
		t.Errorf("another version's body: %d %s", code, body)
	}
	if code, _, _ := k.do(t, "GET", "/apis/example.com/v1/namespaces/default/widgets/x/nosuch", "", nil); code != 404 {
		t.Errorf("an unknown subresource: %d", code)
	}
}

// TestCRDNamespaceAndWatchExpiry: deleting a namespace deletes the custom
// resources in it (the namespace controller reads the live catalogue),
// and a watch of custom resources from a resourceVersion older than the
// watch cache holds gets 410 Gone, as for built-in resources.
func TestCRDNamespaceAndWatchExpiry(t *testing.T) {
	k := startKapi(t)
	crd := k.createCRD(t, widgetCRD())
	ctx := context.Background()
	if _, err := k.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "doomed"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ws := k.crs(crd, "v1", "doomed")
	for i := 0; i < 3; i++ {
		if _, err := ws.Create(ctx, widget(fmt.Sprintf("w%d", i), nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := k.client.CoreV1().Namespaces().Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := waitUntil(20*time.Second, func() bool {
		_, err := k.client.CoreV1().Namespaces().Get(ctx, "doomed", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}); err != nil {
		l, _ := ws.List(ctx, metav1.ListOptions{})
		t.Fatalf("the namespace stays; %d widgets left in it", len(l.Items))
	}
	if l, err := k.crs(crd, "v1", "").List(ctx, metav1.ListOptions{}); err != nil || len(l.Items) != 0 {
		t.Errorf("widgets after their namespace went: %v %d", err, len(l.Items))
	}

	w, err := k.crs(crd, "v1", "default").Watch(ctx, metav1.ListOptions{ResourceVersion: "1"})
	if err != nil {
		if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
			t.Fatalf("watch from resourceVersion 1: %v", err)
		}
		return
	}
	defer w.Stop()
	select {
	case ev := <-w.ResultChan():
		st, ok := ev.Object.(*metav1.Status)
		if ev.Type != watch.Error || !ok || st.Code != http.StatusGone {
			t.Errorf("watch from resourceVersion 1: %s %v", ev.Type, ev.Object)
		}
	case <-time.After(10 * time.Second):
		t.Error("watch from resourceVersion 1: no 410")
	}
}
