package fuzz

import (
	"encoding/json"
	"net/http"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes/scheme"
)

// contentTypes are the bodies a client may send, by the fuzzer's index.
var contentTypes = []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf"}

// FuzzCreate: any body, in JSON, YAML or protobuf, POSTed as a ConfigMap,
// is created (and then reads back as the create answered) or refused with
// a 4xx Status, leaving nothing stored.
func FuzzCreate(f *testing.F) {
	s := start(f)
	mustCreate(f, s, "/api/v1/namespaces", `{"metadata":{"name":"fuzz"}}`)
	for _, seed := range []string{
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"a":"b"}}`,
		`{"metadata":{"generateName":"g-","labels":{"a":"b"},"annotations":{"k":"v"}},"binaryData":{"b":"AAEC"}}`,
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"other"}}`,
		`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}`,
		`{"metadata":{"name":"x","ownerReferences":[{"apiVersion":"v1","kind":"Pod","name":"p","uid":"u"}],"finalizers":["a/b"]}}`,
		`{"metadata":{"name":"x","managedFields":[{"manager":"m","operation":"Apply","fieldsType":"FieldsV1","fieldsV1":{"f:data":{}}}]}}`,
		`{"metadata":{"name":"x","resourceVersion":"12","uid":"u","creationTimestamp":"2020-01-01T00:00:00Z"},"immutable":true}`,
		`{"metadata":{"name":"x"},"data":{"a":1}}`,
		`{"metadata":{"name":"x"},"data":{"a":"b","a":"c"}}`,
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\ndata:\n  k: |\n    text\n",
		"metadata: {name: y, labels: {a: [1]}}",
		"--- \n&a [*a]",
	} {
		f.Add(uint8(0), []byte(seed))
		if seed[0] != '{' {
			f.Add(uint8(1), []byte(seed))
		}
	}
	pb := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)
	for _, cm := range []*corev1.ConfigMap{
		{Data: map[string]string{"a": "b"}},
		{BinaryData: map[string][]byte{"b": {0, 1}}},
	} {
		cm.APIVersion, cm.Kind, cm.Name = "v1", "ConfigMap", "p"
		b, err := runtime.Encode(pb, cm)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(2), b)
	}
	const path = "/api/v1/namespaces/fuzz/configmaps"
	f.Fuzz(func(t *testing.T, ct uint8, body []byte) {
		contentType := contentTypes[int(ct)%len(contentTypes)]
		what := "POST " + contentType + " " + string(body)
		a := s.do(t, "POST", path, contentType, body)
		mustBeClean(t, what, a)
		mustBeOneOf(t, what, a, http.StatusCreated, http.StatusBadRequest, http.StatusUnsupportedMediaType,
			http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity)
		if a.code != http.StatusCreated {
			if left := s.list(t, ""); len(left) != 0 {
				t.Fatalf("%s: refused (%d %s), yet stored %v", what, a.code, a.body, left[0].Name)
			}
			return
		}
		var made corev1.ConfigMap
		if err := json.Unmarshal(a.body, &made); err != nil {
			t.Fatalf("%s: the created object: %v", what, err)
		}
		got := s.do(t, "GET", path+"/"+made.Name, "", nil)
		if got.code != http.StatusOK {
			t.Fatalf("%s: created %s, then GET: %d %s", what, made.Name, got.code, got.body)
		}
		var read corev1.ConfigMap
		if err := json.Unmarshal(got.body, &read); err != nil || read.ResourceVersion != made.ResourceVersion || read.UID != made.UID {
			t.Fatalf("%s: created %+v, read %+v (%v)", what, made.ObjectMeta, read.ObjectMeta, err)
		}
		if len(made.Finalizers) > 0 {
			p := s.do(t, "PATCH", path+"/"+made.Name, "application/merge-patch+json", []byte(`{"metadata":{"finalizers":null}}`))
			if p.code != http.StatusOK {
				t.Fatalf("%s: removing the finalizers of %s: %d %s", what, made.Name, p.code, p.body)
			}
		}
		if d := s.do(t, "DELETE", path+"/"+made.Name, "", nil); d.code != http.StatusOK {
			t.Fatalf("%s: DELETE %s: %d %s", what, made.Name, d.code, d.body)
		}
	})
}
