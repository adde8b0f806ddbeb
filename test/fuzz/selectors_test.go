package fuzz

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
)

// FuzzSelectors: a list with any label and field selector is refused
// with a 400 Status or answers exactly the objects the selectors select,
// computed beside the server with apimachinery's parsers (kube-apiserver's
// own), from the cache (resourceVersion=0) and from etcd alike.
func FuzzSelectors(f *testing.F) {
	s := start(f)
	mustCreate(f, s, "/api/v1/namespaces", `{"metadata":{"name":"fuzz"}}`)
	objects := []string{
		`{"metadata":{"name":"a","labels":{"app":"web","tier":"front","v":"1"}}}`,
		`{"metadata":{"name":"b","labels":{"app":"web","tier":"back","v":"2"}}}`,
		`{"metadata":{"name":"c","labels":{"app":"db","v":"10"}}}`,
		`{"metadata":{"name":"d","labels":{"example.com/owner":"team-a"}}}`,
		`{"metadata":{"name":"e.dotted","labels":{"app":""}}}`,
		`{"metadata":{"name":"f"}}`,
	}
	for _, o := range objects {
		mustCreate(f, s, "/api/v1/namespaces/fuzz/configmaps", o)
	}
	all := s.list(f, "")
	if len(all) != len(objects) {
		f.Fatalf("listed %d of %d", len(all), len(objects))
	}
	for _, seed := range [][2]string{
		{"app=web", ""},
		{"app in (web,db),tier!=back", ""},
		{"!tier", "metadata.name!=c"},
		{"v>1", ""},
		{"example.com/owner", "metadata.namespace=fuzz"},
		{"app=", "metadata.name=e.dotted"},
		{"", "metadata.name==a,metadata.name!=b"},
		{"", "spec.nodeName=x"},
		{"app notin ()", ""},
		{"a=b=c", `metadata.name=a\,b`},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, labelSel, fieldSel string) {
		q := url.Values{}
		if labelSel != "" {
			q.Set("labelSelector", labelSel)
		}
		if fieldSel != "" {
			q.Set("fieldSelector", fieldSel)
		}
		for _, rv := range []string{"", "0"} {
			if rv != "" {
				q.Set("resourceVersion", rv)
			}
			what := "list ?" + q.Encode()
			a := s.do(t, "GET", "/api/v1/namespaces/fuzz/configmaps?"+q.Encode(), "", nil)
			mustBeClean(t, what, a)
			mustBeOneOf(t, what, a, 200, 400)
			if a.code == 400 {
				if _, err := labels.Parse(labelSel); err == nil && fieldSel == "" {
					t.Fatalf("%s: refused a label selector apimachinery accepts: %s", what, a.body)
				}
				continue
			}
			ls, err := labels.Parse(labelSel)
			if err != nil {
				t.Fatalf("%s: served a label selector apimachinery refuses (%v)", what, err)
			}
			fs, err := fields.ParseSelector(fieldSel)
			if err != nil {
				t.Fatalf("%s: served a field selector apimachinery refuses (%v)", what, err)
			}
			var want []string
			for _, cm := range all {
				set := fields.Set{"metadata.name": cm.Name, "metadata.namespace": cm.Namespace}
				if ls.Matches(labels.Set(cm.Labels)) && fs.Matches(set) {
					want = append(want, cm.Name)
				}
			}
			var list corev1.ConfigMapList
			if err := json.Unmarshal(a.body, &list); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			var got []string
			for _, cm := range list.Items {
				got = append(got, cm.Name)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s: got %v, want %v", what, got, want)
			}
		}
	})
}

// list lists the ConfigMaps of namespace fuzz with query q.
func (s *fuzzServer) list(t testing.TB, q string) []corev1.ConfigMap {
	t.Helper()
	a := s.do(t, "GET", "/api/v1/namespaces/fuzz/configmaps"+q, "", nil)
	if a.code != 200 {
		t.Fatalf("list: %d %s", a.code, a.body)
	}
	var list corev1.ConfigMapList
	if err := json.Unmarshal(a.body, &list); err != nil {
		t.Fatal(fmt.Errorf("list: %w", err))
	}
	return list.Items
}
