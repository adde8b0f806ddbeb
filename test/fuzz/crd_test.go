package fuzz

import (
	"encoding/json"
	"net/http"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/pkg/kapitest"
)

// widgetSchema exercises what the schema validator, pruning and
// defaulting do: types and formats, enums, patterns, bounds, defaults,
// nullable, int-or-string, embedded resources, preserved unknown
// fields, list types and CEL rules.
const widgetSchema = `{
 "type": "object",
 "properties": {
  "spec": {
   "type": "object",
   "required": ["size"],
   "x-kubernetes-validations": [{"rule": "self.size <= self.max", "message": "size above max", "fieldPath": ".size"}],
   "properties": {
    "size": {"type": "integer", "minimum": 0, "maximum": 1000},
    "max": {"type": "integer", "default": 100},
    "colour": {"type": "string", "enum": ["red", "green", "blue"], "default": "red"},
    "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 20, "nullable": true},
    "when": {"type": "string", "format": "date-time"},
    "port": {"x-kubernetes-int-or-string": true},
    "ratio": {"type": "number", "multipleOf": 0.5, "exclusiveMinimum": true, "minimum": 0},
    "tags": {"type": "array", "maxItems": 5, "x-kubernetes-list-type": "set", "items": {"type": "string"}},
    "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
     "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "number": {"type": "integer", "format": "int32"}}}},
    "labels": {"type": "object", "additionalProperties": {"type": "string"}, "maxProperties": 4},
    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
    "template": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true},
    "choice": {"type": "object", "oneOf": [{"required": ["a"]}, {"required": ["b"]}], "properties": {"a": {"type": "string"}, "b": {"type": "string"}}}
   }
  },
  "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}
 }
}`

func widgetCRD(f *testing.F) *apiextensionsv1.CustomResourceDefinition {
	var schema apiextensionsv1.JSONSchemaProps
	if err := json.Unmarshal([]byte(widgetSchema), &schema); err != nil {
		f.Fatal(err)
	}
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.fuzz.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "fuzz.example.com", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema:       &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &schema},
				Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
			}},
		},
	}
}

// FuzzCustomResource: any JSON body POSTed as a custom resource of a CRD
// with a rich schema is created (and reads back as the create answered)
// or refused with a 4xx Status, leaving nothing stored.
func FuzzCustomResource(f *testing.F) {
	s := start(f, kapitest.CRDObjects(widgetCRD(f)))
	mustCreate(f, s, "/api/v1/namespaces", `{"metadata":{"name":"fuzz"}}`)
	for _, seed := range []string{
		`{"apiVersion":"fuzz.example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"size":3}}`,
		`{"apiVersion":"fuzz.example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"size":300,"max":200}}`,
		`{"apiVersion":"fuzz.example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"size":1,"colour":"pink","name":"UPPER","when":"yesterday"}}`,
		`{"apiVersion":"fuzz.example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"size":1,"port":"http","ratio":1.5,"tags":["a","a"]}}`,
		`{"apiVersion":"fuzz.example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"size":1,"ports":[{"name":"a"},{"name":"a","number":99999999999}]}}`,
		`{"apiVersion":"fuzz.example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"size":1,"free":{"x":[1,{"y":null}]},"template":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}}}}`,
		`{"apiVersion":"fuzz.example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"size":1,"template":{"kind":""}}}`,
		`{"apiVersion":"fuzz.example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"size":1,"choice":{"a":"x","b":"y"}},"status":{"ready":"yes"}}`,
		`{"apiVersion":"fuzz.example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"size":1,"labels":{"a":"1","b":"2","c":"3","d":"4","e":"5"}},"unknown":1}`,
		`{"apiVersion":"fuzz.example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"size":-1,"name":null}}`,
		`{"apiVersion":"fuzz.example.com/v2","kind":"Widget","metadata":{"name":"w"},"spec":{"size":1}}`,
		`{"apiVersion":"fuzz.example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":"x"}`,
	} {
		f.Add([]byte(seed))
	}
	const path = "/apis/fuzz.example.com/v1/namespaces/fuzz/widgets"
	f.Fuzz(func(t *testing.T, body []byte) {
		what := "POST widget " + string(body)
		a := s.do(t, "POST", path, "application/json", body)
		mustBeClean(t, what, a)
		mustBeOneOf(t, what, a, http.StatusCreated, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity)
		if a.code != http.StatusCreated {
			if l := s.do(t, "GET", path, "", nil); l.code != 200 || countItems(t, l.body) != 0 {
				t.Fatalf("%s: refused (%d %s), yet stored: %s", what, a.code, a.body, l.body)
			}
			return
		}
		var made metav1.PartialObjectMetadata
		if err := json.Unmarshal(a.body, &made); err != nil {
			t.Fatal(err)
		}
		got := s.do(t, "GET", path+"/"+made.Name, "", nil)
		var read metav1.PartialObjectMetadata
		if got.code != 200 || json.Unmarshal(got.body, &read) != nil || read.ResourceVersion != made.ResourceVersion {
			t.Fatalf("%s: created %s, then GET: %d %s", what, made.Name, got.code, got.body)
		}
		if len(made.Finalizers) > 0 {
			s.do(t, "PATCH", path+"/"+made.Name, "application/merge-patch+json", []byte(`{"metadata":{"finalizers":null}}`))
		}
		if d := s.do(t, "DELETE", path+"/"+made.Name, "", nil); d.code != http.StatusOK {
			t.Fatalf("%s: DELETE: %d %s", what, d.code, d.body)
		}
	})
}

// FuzzCRDSchema: a CRD with any openAPIV3Schema, created with dryRun, is
// accepted or refused with a 4xx Status, and nothing is stored either way.
func FuzzCRDSchema(f *testing.F) {
	s := start(f)
	for _, seed := range []string{
		widgetSchema,
		`{"type":"object"}`,
		`{"type":"object","properties":{"spec":{"type":"object","x-kubernetes-validations":[{"rule":"self.a.b.c == 1"}]}}}`,
		`{"type":"object","properties":{"spec":{"type":"object","x-kubernetes-validations":[{"rule":"self.x.all(e, e.matches('['))"}],"properties":{"x":{"type":"array","items":{"type":"string"}}}}}}`,
		`{"type":"object","properties":{"spec":{"$ref":"#/definitions/x"}}}`,
		`{"type":"object","properties":{"spec":{"type":"string","default":5}}}`,
		`{"type":"object","properties":{"spec":{"type":"array"}}}`,
		`{"type":"object","properties":{"spec":{"type":"object","x-kubernetes-list-type":"map"}}}`,
		`{"type":"object","properties":{"spec":{"type":"object","properties":{"a":{"type":"string","pattern":"(("}}}}}`,
		`{"type":"object","properties":{"metadata":{"type":"object","properties":{"name":{"type":"string","maxLength":3}}}}}`,
		`{"type":"object","x-kubernetes-preserve-unknown-fields":true,"additionalProperties":true}`,
		`{"type":"object","properties":{"spec":{"anyOf":[{"type":"string"}],"not":{"properties":{"a":{"default":1}}}}}}`,
		`[]`,
		`null`,
	} {
		f.Add(seed)
	}
	const path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
	f.Fuzz(func(t *testing.T, schema string) {
		body := `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"things.fuzz.example.com"},
"spec":{"group":"fuzz.example.com","scope":"Namespaced","names":{"plural":"things","kind":"Thing"},
"versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":` + schema + `}}]}}`
		what := "POST CRD with schema " + schema
		a := s.do(t, "POST", path+"?dryRun=All", "application/json", []byte(body))
		mustBeClean(t, what, a)
		mustBeOneOf(t, what, a, http.StatusCreated, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity)
		if g := s.do(t, "GET", path+"/things.fuzz.example.com", "", nil); g.code != http.StatusNotFound {
			t.Fatalf("%s: a dry run stored the CRD: %d %s", what, g.code, g.body)
		}
	})
}

func countItems(t *testing.T, body []byte) int {
	t.Helper()
	var l struct{ Items []json.RawMessage }
	if err := json.Unmarshal(body, &l); err != nil {
		t.Fatal(err)
	}
	return len(l.Items)
}
