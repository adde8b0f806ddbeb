package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
)

func jsonv(s string) *apiextensionsv1.JSON { return &apiextensionsv1.JSON{Raw: []byte(s)} }

func ptrInt(i int64) *int64 { return &i }

// schemaCRD is a cluster-scoped CRD whose schema uses what kube-apiserver
// validates, prunes and defaults.
func schemaCRD() *apiextensionsv1.CustomResourceDefinition {
	yes := true
	reason := apiextensionsv1.FieldValueForbidden
	spec := apiextensionsv1.JSONSchemaProps{
		Type:     "object",
		Required: []string{"name"},
		Properties: props{
			"name":     {Type: "string", Pattern: "^[a-z]+$", MinLength: ptrInt(2), MaxLength: ptrInt(10)},
			"count":    {Type: "integer", Minimum: ptrFloat(1), Maximum: ptrFloat(10), Default: jsonv("5")},
			"ratio":    {Type: "number", Maximum: ptrFloat(1)},
			"mode":     {Type: "string", Enum: []apiextensionsv1.JSON{*jsonv(`"A"`), *jsonv(`"B"`)}},
			"email":    {Type: "string", Format: "email"},
			"port":     {XIntOrString: true, AnyOf: []apiextensionsv1.JSONSchemaProps{{Type: "integer"}, {Type: "string"}}},
			"optional": {Type: "string", Nullable: true},
			"labels":   {Type: "object", AdditionalProperties: &apiextensionsv1.JSONSchemaPropsOrBool{Allows: true, Schema: &apiextensionsv1.JSONSchemaProps{Type: "string"}}},
			"free":     {Type: "object", XPreserveUnknownFields: &yes},
			"template": {Type: "object", XEmbeddedResource: true, XPreserveUnknownFields: &yes},
			"nested": {Type: "object", Default: jsonv(`{}`), Properties: props{
				"level": {Type: "string", Default: jsonv(`"info"`)},
			}},
			"min": {Type: "integer"},
			"max": {Type: "integer", XValidations: apiextensionsv1.ValidationRules{
				{Rule: "self < 1000", MessageExpression: `self >= 5000 ? "max must be under 1000, far from it" : "max must be under 1000"`},
			}},
			"immutable": {Type: "string", XValidations: apiextensionsv1.ValidationRules{
				{Rule: "self == oldSelf", Message: "is immutable", Reason: &reason},
			}},
		},
		XValidations: apiextensionsv1.ValidationRules{
			{Rule: "!has(self.min) || !has(self.max) || self.min <= self.max", Message: "min must not exceed max", FieldPath: ".min"},
		},
	}
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "schemas.test.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "test.example.com", Scope: apiextensionsv1.ClusterScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "schemas", Singular: "schema", Kind: "Schema", ListKind: "SchemaList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", Properties: props{"spec": spec}}}}},
		},
	}
}

func schemaObj(name string, spec map[string]interface{}) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": "test.example.com/v1", "kind": "Schema",
		"metadata": map[string]interface{}{"name": name}, "spec": spec}}
}

// TestCRDSchemas: custom resources are validated, pruned and defaulted
// by their schema as kube-apiserver does it, each error a 422 with
// kube's field path; CEL rules with their messages, reasons, field paths
// and transition rules; fieldValidation Strict and Warn report pruned
// fields; defaults apply on create, update and read.
func TestCRDSchemas(t *testing.T) {
	k := startKapi(t)
	crd := k.createCRD(t, schemaCRD())
	ctx := context.Background()
	objs := k.crs(crd, "v1", "")

	created, err := objs.Create(ctx, schemaObj("ok", map[string]interface{}{
		"name": "good", "port": "http", "optional": nil, "labels": map[string]interface{}{"a": "b"},
		"free":     map[string]interface{}{"anything": map[string]interface{}{"goes": true}},
		"template": map[string]interface{}{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]interface{}{"name": "x"}, "data": map[string]interface{}{"k": "v"}},
		"dropped":  "unknown",
	}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spec := created.Object["spec"].(map[string]interface{})
	if spec["count"] != int64(5) || spec["nested"].(map[string]interface{})["level"] != "info" {
		t.Errorf("defaults: %v", spec)
	}
	if _, ok := spec["dropped"]; ok {
		t.Error("an unknown field was kept")
	}
	if spec["free"].(map[string]interface{})["anything"] == nil || spec["template"].(map[string]interface{})["data"] == nil {
		t.Errorf("preserved fields: %v", spec)
	}

	for _, c := range []struct {
		spec   map[string]interface{}
		causes []string // field: type
	}{
		{map[string]interface{}{}, []string{"spec.name: FieldValueRequired"}},
		{map[string]interface{}{"name": "UPPER"}, []string{"spec.name: FieldValueInvalid"}},
		{map[string]interface{}{"name": "a"}, []string{"spec.name: FieldValueInvalid"}},
		{map[string]interface{}{"name": "abcdefghijkl"}, []string{"spec.name: FieldValueTooLong"}},
		{map[string]interface{}{"name": "ab", "count": int64(11)}, []string{"spec.count: FieldValueInvalid"}},
		{map[string]interface{}{"name": "ab", "count": "three"}, []string{"spec.count: FieldValueTypeInvalid"}},
		{map[string]interface{}{"name": "ab", "ratio": 1.5}, []string{"spec.ratio: FieldValueInvalid"}},
		{map[string]interface{}{"name": "ab", "mode": "C"}, []string{"spec.mode: FieldValueNotSupported"}},
		{map[string]interface{}{"name": "ab", "email": "nope"}, []string{"spec.email: FieldValueTypeInvalid"}},
		{map[string]interface{}{"name": "ab", "port": true}, []string{"spec.port: FieldValueTypeInvalid"}},
		{map[string]interface{}{"name": "ab", "labels": map[string]interface{}{"a": int64(1)}}, []string{"spec.labels.a: FieldValueTypeInvalid"}},
		{map[string]interface{}{"name": "ab", "template": map[string]interface{}{"kind": "ConfigMap"}}, []string{"spec.template.apiVersion: FieldValueRequired"}},
		{map[string]interface{}{"name": "ab", "template": map[string]interface{}{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]interface{}{"name": "bad/name"}}},
			[]string{"spec.template.metadata.name: FieldValueInvalid"}},
		{map[string]interface{}{"name": "ab", "min": int64(5), "max": int64(2)}, []string{"spec.min: FieldValueInvalid"}},
		{map[string]interface{}{"name": "ab", "max": int64(5000)}, []string{"spec.max: FieldValueInvalid"}},
	} {
		_, err := objs.Create(ctx, schemaObj("bad", c.spec), metav1.CreateOptions{})
		se, ok := err.(apierrors.APIStatus)
		if !apierrors.IsInvalid(err) || !ok {
			t.Errorf("%v: %v, want 422", c.spec, err)
			continue
		}
		var got []string
		for _, cause := range se.Status().Details.Causes {
			got = append(got, cause.Field+": "+string(cause.Type))
		}
		for _, want := range c.causes {
			if !contains(got, want) {
				t.Errorf("%v: causes %v lack %q (%s)", c.spec, got, want, err)
			}
		}
	}
	_, err = objs.Create(ctx, schemaObj("msg", map[string]interface{}{"name": "ab", "max": int64(5000)}), metav1.CreateOptions{})
	if err == nil || !strings.Contains(err.Error(), "max must be under 1000, far from it") {
		t.Errorf("messageExpression: %v", err)
	}
	_, err = objs.Create(ctx, schemaObj("msg", map[string]interface{}{"name": "ab", "min": int64(5), "max": int64(2)}), metav1.CreateOptions{})
	if err == nil || !strings.Contains(err.Error(), "min must not exceed max") {
		t.Errorf("message with fieldPath: %v", err)
	}
	if _, err := objs.Get(ctx, "bad", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("an invalid object was stored: %v", err)
	}

	// A transition rule: immutable once set, with its reason.
	if _, err := objs.Patch(ctx, "ok", types.MergePatchType, []byte(`{"spec":{"immutable":"first"}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = objs.Patch(ctx, "ok", types.MergePatchType, []byte(`{"spec":{"immutable":"second"}}`), metav1.PatchOptions{})
	if se, ok := err.(apierrors.APIStatus); !ok || !apierrors.IsInvalid(err) || !hasCauseOfType(se.Status().Details.Causes, "spec.immutable", metav1.CauseType("FieldValueForbidden")) ||
		!strings.Contains(err.Error(), "is immutable") {
		t.Errorf("transition rule: %v", err)
	}
	// Defaults on update: a removed defaulted field comes back.
	up, err := objs.Patch(ctx, "ok", types.MergePatchType, []byte(`{"spec":{"count":null}}`), metav1.PatchOptions{})
	if err != nil || up.Object["spec"].(map[string]interface{})["count"] != int64(5) {
		t.Errorf("default on update: %v %v", err, up)
	}

	// fieldValidation: Strict refuses the unknown field (400 naming it),
	// Warn (the default) warns, Ignore says nothing.
	body := []byte(`{"apiVersion":"test.example.com/v1","kind":"Schema","metadata":{"name":"fv"},"spec":{"name":"ab","extra":1,"nested":{"other":2}}}`)
	code, st, out := k.do(t, "POST", "/apis/test.example.com/v1/schemas?fieldValidation=Strict", "application/json", body)
	if code != 400 || st == nil || !strings.Contains(st.Message, `strict decoding error: unknown field "spec.extra", unknown field "spec.nested.other"`) {
		t.Errorf("Strict: %d %s", code, out)
	}
	var warnings []string
	cfg := rest.CopyConfig(k.rest)
	cfg.WarningHandler = warningRecorder{&warnings}
	wc := k.dynamicFor(cfg).Resource(crGVR(crd, "v1"))
	obj := schemaObj("fv", map[string]interface{}{"name": "ab", "extra": int64(1)})
	if _, err := wc.Create(ctx, obj, metav1.CreateOptions{FieldValidation: "Warn"}); err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || warnings[0] != `unknown field "spec.extra"` {
		t.Errorf("Warn: warnings %q", warnings)
	}
	if got, _ := objs.Get(ctx, "fv", metav1.GetOptions{}); got.Object["spec"].(map[string]interface{})["extra"] != nil {
		t.Error("Warn kept the unknown field")
	}

	// Defaults on read: a default added to the schema shows on objects
	// stored before it.
	cur, err := k.crdClient().ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crd.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := cur.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
	mode := s.Properties["mode"]
	mode.Default = jsonv(`"B"`)
	s.Properties["mode"] = mode
	cur.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"] = s
	if _, err := k.crdClient().ApiextensionsV1().CustomResourceDefinitions().Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := waitUntil(10*time.Second, func() bool {
		got, err := objs.Get(ctx, "ok", metav1.GetOptions{})
		return err == nil && got.Object["spec"].(map[string]interface{})["mode"] == "B"
	}); err != nil {
		t.Error("a default added to the schema is not applied when reading")
	}
}

func hasCauseOfType(causes []metav1.StatusCause, field string, typ metav1.CauseType) bool {
	for _, c := range causes {
		if c.Field == field && c.Type == typ {
			return true
		}
	}
	return false
}

type warningRecorder struct{ list *[]string }

func (w warningRecorder) HandleWarningHeader(code int, agent, text string) {
	*w.list = append(*w.list, text)
}

// TestCRDCELCost: a CEL rule too expensive for the schema's bounds is
// refused when the CRD is written (422 naming the rule), as
// kube-apiserver estimates and limits its cost.
func TestCRDCELCost(t *testing.T) {
	k := startKapi(t)
	crd := schemaCRD()
	crd.Name, crd.Spec.Names.Plural, crd.Spec.Names.Singular, crd.Spec.Names.Kind, crd.Spec.Names.ListKind = "costs.test.example.com", "costs", "cost", "Cost", "CostList"
	s := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
	// Unbounded lists of unbounded strings, compared all against all.
	s.Properties["items"] = apiextensionsv1.JSONSchemaProps{Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &apiextensionsv1.JSONSchemaProps{Type: "string"}},
		XValidations: apiextensionsv1.ValidationRules{{Rule: "self.all(x, self.all(y, self.all(z, x + y + z != 'abc')))"}}}
	crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"] = s
	_, err := k.crdClient().ApiextensionsV1().CustomResourceDefinitions().Create(context.Background(), crd, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "x-kubernetes-validations[0].rule") || !strings.Contains(err.Error(), "cost") {
		t.Errorf("an expensive rule: %v", err)
	}
	if se, ok := err.(apierrors.APIStatus); ok && se.Status().Code != http.StatusUnprocessableEntity {
		t.Errorf("code %d", se.Status().Code)
	}
}

// TestCRDRatcheting: after the schema tightens, an update that leaves an
// invalid value as it was passes (validation ratchets, as kube-apiserver's
// does since 1.30), one that changes it to another invalid value does not.
func TestCRDRatcheting(t *testing.T) {
	k := startKapi(t)
	crd := k.createCRD(t, schemaCRD())
	ctx := context.Background()
	objs := k.crs(crd, "v1", "")
	if _, err := objs.Create(ctx, schemaObj("r", map[string]interface{}{"name": "abcdef", "max": int64(500)}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cur, err := k.crdClient().ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crd.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := cur.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
	name := s.Properties["name"]
	name.MaxLength = ptrInt(3)
	s.Properties["name"] = name
	max := s.Properties["max"]
	max.XValidations = apiextensionsv1.ValidationRules{{Rule: "self < 100", Message: "max must be under 100"}}
	s.Properties["max"] = max
	cur.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"] = s
	if _, err := k.crdClient().ApiextensionsV1().CustomResourceDefinitions().Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := waitUntil(10*time.Second, func() bool {
		_, err := objs.Create(ctx, schemaObj("probe", map[string]interface{}{"name": "abcdef"}), metav1.CreateOptions{DryRun: []string{"All"}})
		return apierrors.IsInvalid(err)
	}); err != nil {
		t.Fatal("the tightened schema does not take effect")
	}
	if _, err := objs.Patch(ctx, "r", types.MergePatchType, []byte(`{"spec":{"count":3}}`), metav1.PatchOptions{}); err != nil {
		t.Errorf("an update leaving the now invalid name and max alone: %v", err)
	}
	if _, err := objs.Patch(ctx, "r", types.MergePatchType, []byte(`{"spec":{"name":"ghijkl"}}`), metav1.PatchOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.name") {
		t.Errorf("changing the name to another invalid one: %v", err)
	}
	if _, err := objs.Patch(ctx, "r", types.MergePatchType, []byte(`{"spec":{"max":600}}`), metav1.PatchOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "max must be under 100") {
		t.Errorf("changing max to another invalid one: %v", err)
	}
}
