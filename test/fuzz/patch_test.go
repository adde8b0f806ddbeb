package fuzz

import (
	"encoding/json"
	"net/http"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// patchTypes are the patch content types, by the fuzzer's index; apply is
// sent with a field manager.
var patchTypes = []string{
	"application/json-patch+json",
	"application/merge-patch+json",
	"application/strategic-merge-patch+json",
	"application/apply-patch+yaml",
}

const target = `{"metadata":{"name":"t","labels":{"a":"1"},"annotations":{"n":"x"}},"data":{"k":"v","j":"w"}}`

// FuzzPatch: any patch of any of the four types applied to a ConfigMap
// and to a Deployment (whose strategic merge keys and defaults take other
// paths) either succeeds (200 or 201) or is refused with a 4xx Status and
// leaves the object as it was (same resourceVersion).
func FuzzPatch(f *testing.F) {
	s := start(f)
	mustCreate(f, s, "/api/v1/namespaces", `{"metadata":{"name":"fuzz"}}`)
	mustCreate(f, s, "/api/v1/namespaces/fuzz/configmaps", target)
	mustCreate(f, s, "/apis/apps/v1/namespaces/fuzz/deployments", deployment)
	for _, seed := range []struct {
		typ   uint8
		patch string
	}{
		{0, `[{"op":"add","path":"/data/new","value":"x"}]`},
		{0, `[{"op":"replace","path":"/metadata/name","value":"other"}]`},
		{0, `[{"op":"test","path":"/data/k","value":"nope"}]`},
		{0, `[{"op":"move","from":"/data/k","path":"/data/k/x"}]`},
		{0, `[{"op":"copy","from":"/data","path":"/metadata/labels"}]`},
		{0, `[{"op":"remove","path":"/metadata"}]`},
		{1, `{"data":{"k":null,"z":"1"}}`},
		{1, `{"metadata":{"resourceVersion":"1"}}`},
		{1, `{"metadata":{"uid":"x"}}`},
		{1, `{"data":"string"}`},
		{1, `[]`},
		{2, `{"$patch":"replace","data":{"a":"b"}}`},
		{2, `{"spec":{"template":{"spec":{"containers":[{"name":"c","$patch":"delete"}]}}}}`},
		{2, `{"spec":{"template":{"spec":{"containers":[{"name":"d","image":"i"}],"$setElementOrder/containers":[{"name":"d"},{"name":"c"}]}}}}`},
		{2, `{"$retainKeys":["data"],"data":{}}`},
		{3, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: t\ndata:\n  k: applied\n"},
		{3, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  replicas: 3\n"},
		{3, "kind: ConfigMap\nmetadata: {name: other}\n"},
	} {
		f.Add(seed.typ, true, []byte(seed.patch))
		f.Add(seed.typ, false, []byte(seed.patch))
	}
	f.Fuzz(func(t *testing.T, typ uint8, onDeployment bool, patch []byte) {
		path := "/api/v1/namespaces/fuzz/configmaps/t"
		if onDeployment {
			path = "/apis/apps/v1/namespaces/fuzz/deployments/d"
		}
		contentType := patchTypes[int(typ)%len(patchTypes)]
		query := ""
		if contentType == "application/apply-patch+yaml" {
			query = "?fieldManager=fuzz&force=true"
		}
		before := s.do(t, "GET", path, "", nil)
		if before.code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, before.code, before.body)
		}
		what := "PATCH " + path + " " + contentType + " " + string(patch)
		a := s.do(t, "PATCH", path+query, contentType, patch)
		mustBeClean(t, what, a)
		mustBeOneOf(t, what, a, http.StatusOK, http.StatusCreated, http.StatusBadRequest, http.StatusConflict,
			http.StatusUnsupportedMediaType, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity)
		after := s.do(t, "GET", path, "", nil)
		if after.code != http.StatusOK {
			t.Fatalf("%s: then GET: %d %s", what, after.code, after.body)
		}
		if a.code >= 400 {
			if rv(t, before.body) != rv(t, after.body) {
				t.Fatalf("%s: refused (%d %s), yet the object changed:\n%s\n%s", what, a.code, a.body, before.body, after.body)
			}
			return
		}
		if rv(t, a.body) != rv(t, after.body) {
			t.Fatalf("%s: answered resourceVersion %s, reads %s", what, rv(t, a.body), rv(t, after.body))
		}
		// Put the object back as it was for the next input.
		restore := s.do(t, "DELETE", path, "", nil)
		mustBeOneOf(t, what+": DELETE", restore, http.StatusOK)
		if onDeployment {
			s.recreate(t, "/apis/apps/v1/namespaces/fuzz/deployments", deployment)
		} else {
			s.recreate(t, "/api/v1/namespaces/fuzz/configmaps", target)
		}
	})
}

const deployment = `{"metadata":{"name":"d"},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"d"}},
"template":{"metadata":{"labels":{"app":"d"}},"spec":{"containers":[{"name":"c","image":"busybox","ports":[{"containerPort":80}]}]}}}}`

// recreate creates body in collection, waiting out the object's previous
// self if a finalizer a patch added still holds it.
func (s *fuzzServer) recreate(t *testing.T, collection, body string) {
	t.Helper()
	for range 50 {
		a := s.do(t, "POST", collection, "application/json", []byte(body))
		if a.code == http.StatusCreated {
			return
		}
		if a.code != http.StatusConflict {
			t.Fatalf("recreate: %d %s", a.code, a.body)
		}
		var meta struct {
			Metadata struct{ Name string } `json:"metadata"`
		}
		_ = json.Unmarshal([]byte(body), &meta)
		s.do(t, "PATCH", collection+"/"+meta.Metadata.Name, "application/merge-patch+json", []byte(`{"metadata":{"finalizers":null}}`))
	}
	t.Fatalf("recreate %s: still there", collection)
}

func rv(t *testing.T, body []byte) string {
	t.Helper()
	var cm corev1.ConfigMap // any object: only its metadata is read
	if err := json.Unmarshal(body, &cm); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return cm.ResourceVersion
}
