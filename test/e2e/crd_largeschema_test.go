package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// A generator of large CRD schemas. The spec of a Giant
// (giants.big.example.com, v1) has:
//
//   - sections s00..sNN, each with subsections sub00..subNN, each with
//     fields f00..fNN whose kind cycles through lsKinds (strings with a
//     maxLength, bounded integers, booleans, numbers, enums,
//     int-or-strings, defaulted strings and integers); the first
//     subsection of each section has a CEL rule (f01 <= f09);
//   - groups: a list-map (key name) of objects holding members, a nested
//     list-map (keys id and zone) of objects with a CEL rule (min <= max)
//     and a defaulted weight, a set of tags, a map of labels and an
//     int-or-string port;
//   - template, an embedded resource that keeps unknown fields; extras,
//     which keeps unknown fields; port, an int-or-string; defaulted, an
//     object defaulting to {} whose fields have defaults.
type lsShape struct {
	sections, subsections, fields int
}

// lsKinds are the kinds of the fields f<i>, by i modulo 8.
var lsKinds = []string{"string", "integer", "boolean", "number", "enum", "intorstring", "defaultstring", "defaultinteger"}

func lsName(prefix string, i int) string { return fmt.Sprintf("%s%02d", prefix, i) }

// lsField is the schema of field f<i> of section sec, subsection sub.
func lsField(sec, sub string, i int) map[string]interface{} {
	desc := fmt.Sprintf("Field f%02d of %s.%s.", i, sec, sub)
	switch lsKinds[i%8] {
	case "string":
		return map[string]interface{}{"type": "string", "maxLength": 64, "description": desc}
	case "integer":
		return map[string]interface{}{"type": "integer", "minimum": 0, "maximum": 1000, "description": desc}
	case "boolean":
		return map[string]interface{}{"type": "boolean", "description": desc}
	case "number":
		return map[string]interface{}{"type": "number", "description": desc}
	case "enum":
		return map[string]interface{}{"type": "string", "enum": []string{"a", "b", "c"}, "description": desc}
	case "intorstring":
		return map[string]interface{}{"x-kubernetes-int-or-string": true, "description": desc}
	case "defaultstring":
		return map[string]interface{}{"type": "string", "default": lsDefault(sec, sub, i), "description": desc}
	default:
		return map[string]interface{}{"type": "integer", "default": 7, "description": desc}
	}
}

// lsDefault is the default of a defaulted string field.
func lsDefault(sec, sub string, i int) string { return fmt.Sprintf("d-%s-%s-f%02d", sec, sub, i) }

// lsValue is a valid value of field f<i> (n varies it).
func lsValue(i, n int) interface{} {
	switch lsKinds[i%8] {
	case "string":
		return fmt.Sprintf("v%d", n)
	case "integer":
		return int64(n % 500)
	case "boolean":
		return n%2 == 0
	case "number":
		return float64(n) + 0.5
	case "enum":
		return []string{"a", "b", "c"}[n%3]
	case "intorstring":
		if n%2 == 0 {
			return int64(n)
		}
		return fmt.Sprintf("p%d", n)
	}
	return nil // the defaulted ones are left to their defaults
}

// lsCRD is the CRD of shape sh, as JSON-able maps, and the number of
// properties its schema has.
func lsCRD(sh lsShape) (map[string]interface{}, int) {
	spec := map[string]interface{}{}
	for s := 0; s < sh.sections; s++ {
		sec := lsName("s", s)
		subs := map[string]interface{}{}
		for u := 0; u < sh.subsections; u++ {
			sub := lsName("sub", u)
			fields := map[string]interface{}{}
			for f := 0; f < sh.fields; f++ {
				fields[lsName("f", f)] = lsField(sec, sub, f)
			}
			o := map[string]interface{}{"type": "object", "description": fmt.Sprintf("Subsection %s of %s.", sub, sec), "properties": fields}
			if u == 0 {
				o["x-kubernetes-validations"] = []interface{}{map[string]interface{}{
					"rule": "!has(self.f01) || !has(self.f09) || self.f01 <= self.f09", "message": "f01 must not exceed f09"}}
			}
			subs[sub] = o
		}
		spec[sec] = map[string]interface{}{"type": "object", "description": fmt.Sprintf("Section %s.", sec), "properties": subs}
	}
	members := map[string]interface{}{
		"type": "array", "maxItems": 16, "description": "The members of the group.",
		"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": []string{"id", "zone"},
		"items": map[string]interface{}{
			"type": "object", "required": []string{"id", "zone"},
			"x-kubernetes-validations": []interface{}{map[string]interface{}{"rule": "self.min <= self.max", "message": "min must not exceed max"}},
			"properties": map[string]interface{}{
				"id":     map[string]interface{}{"type": "integer", "description": "The member's id."},
				"zone":   map[string]interface{}{"type": "string", "maxLength": 16, "description": "The member's zone."},
				"min":    map[string]interface{}{"type": "integer", "default": 0},
				"max":    map[string]interface{}{"type": "integer", "default": 10},
				"weight": map[string]interface{}{"type": "integer", "default": 1, "description": "The member's weight."},
			},
		},
	}
	spec["groups"] = map[string]interface{}{
		"type": "array", "maxItems": 8, "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": []string{"name"},
		"items": map[string]interface{}{
			"type": "object", "required": []string{"name"},
			"properties": map[string]interface{}{
				"name":    map[string]interface{}{"type": "string", "maxLength": 32},
				"port":    map[string]interface{}{"x-kubernetes-int-or-string": true},
				"members": members,
				"tags": map[string]interface{}{"type": "array", "maxItems": 8, "x-kubernetes-list-type": "set",
					"items": map[string]interface{}{"type": "string", "maxLength": 16}},
				"labels": map[string]interface{}{"type": "object", "maxProperties": 8,
					"additionalProperties": map[string]interface{}{"type": "string", "maxLength": 32}},
			},
		},
	}
	spec["template"] = map[string]interface{}{"type": "object", "x-kubernetes-embedded-resource": true,
		"x-kubernetes-preserve-unknown-fields": true, "description": "A resource to stamp out."}
	spec["extras"] = map[string]interface{}{"type": "object", "x-kubernetes-preserve-unknown-fields": true}
	spec["port"] = map[string]interface{}{"x-kubernetes-int-or-string": true, "description": "A port, by number or name."}
	spec["defaulted"] = map[string]interface{}{"type": "object", "default": map[string]interface{}{},
		"properties": map[string]interface{}{
			"mode":    map[string]interface{}{"type": "string", "default": "auto"},
			"retries": map[string]interface{}{"type": "integer", "default": 3},
		}}
	count := lsCountMap(map[string]interface{}{"properties": spec})
	crd := map[string]interface{}{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]interface{}{"name": "giants.big.example.com"},
		"spec": map[string]interface{}{
			"group": "big.example.com", "scope": "Namespaced",
			"names": map[string]interface{}{"plural": "giants", "singular": "giant", "kind": "Giant", "listKind": "GiantList"},
			"versions": []interface{}{map[string]interface{}{
				"name": "v1", "served": true, "storage": true,
				"subresources": map[string]interface{}{"status": map[string]interface{}{}},
				"schema": map[string]interface{}{"openAPIV3Schema": map[string]interface{}{
					"type": "object", "description": "A Giant has a large schema.",
					"properties": map[string]interface{}{
						"spec": map[string]interface{}{"type": "object", "description": "What the giant should be.", "properties": spec},
						"status": map[string]interface{}{"type": "object", "properties": map[string]interface{}{
							"phase": map[string]interface{}{"type": "string"}}},
					},
				}},
			}},
		},
	}
	return crd, count
}

// lsGiant is a Giant that fills every field but the defaulted ones of the
// first filled sections, three groups of four members (without their
// weights), the template, extras and the port. A few fields the schema
// does not know are put in (to be pruned).
func lsGiant(sh lsShape, name string, filled int) map[string]interface{} {
	spec := map[string]interface{}{}
	n := 0
	for s := 0; s < filled; s++ {
		subs := map[string]interface{}{}
		for u := 0; u < sh.subsections; u++ {
			fields := map[string]interface{}{}
			for f := 0; f < sh.fields; f++ {
				n++
				if v := lsValue(f, n); v != nil {
					fields[lsName("f", f)] = v
				}
			}
			if u == 0 {
				// f01 <= f09 (the CEL rule of sub00).
				fields["f01"], fields["f09"] = int64(1), int64(9)
			}
			subs[lsName("sub", u)] = fields
		}
		spec[lsName("s", s)] = subs
	}
	spec["s00"].(map[string]interface{})["sub00"].(map[string]interface{})["bogus"] = "pruned"
	var groups []interface{}
	for g := 0; g < 3; g++ {
		var members []interface{}
		for m := 0; m < 4; m++ {
			members = append(members, map[string]interface{}{"id": int64(m), "zone": fmt.Sprintf("z%d", g), "min": int64(m), "max": int64(m + 1)})
		}
		groups = append(groups, map[string]interface{}{"name": fmt.Sprintf("g%d", g), "members": members,
			"port": []interface{}{int64(8080), "http", int64(9090)}[g], "tags": []interface{}{"x", "y"},
			"labels": map[string]interface{}{"team": fmt.Sprintf("t%d", g)}})
	}
	spec["groups"] = groups
	spec["template"] = map[string]interface{}{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]interface{}{"name": "stamped", "labels": map[string]interface{}{"from": name}},
		"data":     map[string]interface{}{"key": "value"}}
	spec["extras"] = map[string]interface{}{"anything": map[string]interface{}{"goes": []interface{}{int64(1), "two", true}}}
	spec["port"] = "https"
	spec["unknownTopLevel"] = "pruned too"
	return map[string]interface{}{"apiVersion": "big.example.com/v1", "kind": "Giant",
		"metadata": map[string]interface{}{"name": name, "namespace": "default"}, "spec": spec}
}

// TestCRDLargeSchema: a CRD with a large schema (about 4,000 properties:
// nested list-maps, CEL rules, int-or-strings, an embedded resource,
// fields that keep unknown fields, defaults), installed with kubectl
// apply --server-side, is Established and served: a custom resource that
// fills a thousand fields is accepted, defaulted and pruned as
// kube-apiserver does; one that breaks a rule deep inside is a 422 naming
// the deep field; kubectl explain knows the deep fields; the group's
// OpenAPI v3 document holds the whole schema with its extensions.
//
// KAPI_CRD_LARGESCHEMA_SECTIONS=<n> sets the number of sections (20 by
// default: about 4,200 properties; 48 makes about 10,000).
func TestCRDLargeSchema(t *testing.T) {
	sh := lsShape{sections: 20, subsections: 16, fields: 12}
	if s := os.Getenv("KAPI_CRD_LARGESCHEMA_SECTIONS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 20 || n > 99 {
			t.Fatalf("KAPI_CRD_LARGESCHEMA_SECTIONS=%q: want 20 to 99", s)
		}
		sh.sections = n
	}
	crd, count := lsCRD(sh)
	body, err := json.Marshal(crd)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the CRD has %d properties in %d KiB of JSON", count, len(body)>>10)
	if count < 2000 || len(body) > 3<<19 {
		t.Fatalf("the generator made %d properties in %d bytes: change the shape", count, len(body))
	}
	k := startKapi(t)
	ctx := context.Background()

	out := k.mustKubectl(string(body), "apply", "--server-side", "-f", "-")
	if !strings.Contains(out, "customresourcedefinition.apiextensions.k8s.io/giants.big.example.com serverside-applied") {
		t.Fatalf("kubectl apply --server-side of the CRD: %s", out)
	}
	// kubectl wait fails at once (rather than waits) while the CRD's
	// status.conditions is still null, as it is for a moment on
	// kube-apiserver too (kubernetes/kubernetes#66439): retried then.
	var waitOut string
	if err := waitUntil(60*time.Second, func() bool {
		var err error
		waitOut, err = k.kubectl("", "wait", "--for=condition=Established", "--timeout=60s", "crd/giants.big.example.com")
		if err != nil && !strings.Contains(waitOut, ".status.conditions accessor error: <nil>") {
			t.Fatalf("kubectl wait --for=condition=Established: %v\n%s", err, waitOut)
		}
		return err == nil
	}); err != nil {
		t.Fatalf("kubectl wait --for=condition=Established: %s", waitOut)
	}
	stored := k.waitEstablished(t, "giants.big.example.com")
	if resp, err := k.srv.Etcd().Get(ctx, "/registry/apiextensions.k8s.io/customresourcedefinitions/giants.big.example.com"); err != nil || len(resp.Kvs) != 1 {
		t.Errorf("the CRD in etcd: %v", err)
	} else {
		t.Logf("the CRD is %d KiB in etcd", len(resp.Kvs[0].Value)>>10)
	}
	if n := lsCount(stored.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties); n != count {
		t.Errorf("the stored CRD's schema has %d properties, the applied one %d", n, count)
	}
	if len(stored.ManagedFields) == 0 || stored.ManagedFields[0].Operation != metav1.ManagedFieldsOperationApply {
		t.Errorf("the CRD's managed fields: %+v", stored.ManagedFields)
	}
	// Applied again, unchanged: nothing changes.
	if out := k.mustKubectl(string(body), "apply", "--server-side", "-f", "-"); !strings.Contains(out, "serverside-applied") {
		t.Errorf("applying the CRD again: %s", out)
	}
	if again, err := k.crdClient().ApiextensionsV1().CustomResourceDefinitions().Get(ctx, "giants.big.example.com", metav1.GetOptions{}); err != nil ||
		again.Generation != stored.Generation {
		t.Errorf("applying the same CRD again: %v, generation %d then %d", err, stored.Generation, again.Generation)
	}

	gvr := schema.GroupVersionResource{Group: "big.example.com", Version: "v1", Resource: "giants"}
	// A client that keeps the warnings it gets.
	warned := &lsWarnings{}
	cfg := rest.CopyConfig(k.rest)
	cfg.WarningHandler = warned
	giants := dynamic.NewForConfigOrDie(cfg).Resource(gvr).Namespace("default")

	// A giant that fills many fields: accepted; the unknown fields pruned
	// (but those below template and extras kept); the defaults in.
	filled := sh.sections - 1
	g := lsGiant(sh, "big", filled)
	created, err := giants.Create(ctx, &unstructured.Unstructured{Object: g}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating a giant that fills %d fields: %v", filled*sh.subsections*sh.fields, err)
	}
	// The unknown fields were dropped with a warning each (the default
	// fieldValidation, Warn), those below template and extras kept.
	if w := warned.take(); strings.Join(w, "\n") != "unknown field \"spec.s00.sub00.bogus\"\nunknown field \"spec.unknownTopLevel\"" {
		t.Errorf("the warnings of the giant's creation: %q", w)
	}
	got, err := giants.Get(ctx, "big", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for what, obj := range map[string]*unstructured.Unstructured{"created": created, "read": got} {
		checks := []struct {
			path []string
			want interface{}
		}{
			{[]string{"spec", "s03", "sub07", "f00"}, lsGiantValue(sh, 3, 7, 0)},
			{[]string{"spec", "s04", "sub15", "f05"}, lsGiantValue(sh, 4, 15, 5)},
			{[]string{"spec", "s02", "sub05", "f06"}, lsDefault("s02", "sub05", 6)},
			{[]string{"spec", "s04", "sub15", "f07"}, int64(7)},
			{[]string{"spec", "defaulted", "mode"}, "auto"},
			{[]string{"spec", "defaulted", "retries"}, int64(3)},
			{[]string{"spec", "port"}, "https"},
			{[]string{"spec", "template", "data", "key"}, "value"},
			{[]string{"spec", "template", "metadata", "name"}, "stamped"},
			{[]string{"spec", "extras", "anything", "goes"}, []interface{}{int64(1), "two", true}},
		}
		for _, c := range checks {
			v, _, _ := unstructured.NestedFieldNoCopy(obj.Object, c.path...)
			if fmt.Sprint(v) != fmt.Sprint(c.want) {
				t.Errorf("%s giant: %s is %#v, want %#v", what, strings.Join(c.path, "."), v, c.want)
			}
		}
		for _, p := range [][]string{{"spec", "unknownTopLevel"}, {"spec", "s00", "sub00", "bogus"}, {"spec", lsName("s", sh.sections-1)}} {
			if v, found, _ := unstructured.NestedFieldNoCopy(obj.Object, p...); found {
				t.Errorf("%s giant: %s is %v, want it absent (pruned, or never given)", what, strings.Join(p, "."), v)
			}
		}
		groups, _, _ := unstructured.NestedSlice(obj.Object, "spec", "groups")
		if len(groups) != 3 {
			t.Fatalf("%s giant: groups %v", what, groups)
		}
		members, _, _ := unstructured.NestedSlice(groups[2].(map[string]interface{}), "members")
		if len(members) != 4 || members[3].(map[string]interface{})["weight"] != int64(1) || groups[1].(map[string]interface{})["port"] != "http" ||
			groups[0].(map[string]interface{})["port"] != int64(8080) {
			t.Errorf("%s giant: groups %v", what, groups)
		}
	}
	// Filled fields count: every one given is there.
	if n := lsLeaves(got.Object["spec"]); n < filled*sh.subsections*sh.fields {
		t.Errorf("the giant read back has %d leaf values, want at least %d", n, filled*sh.subsections*sh.fields)
	}

	// Rules broken deep inside: 422 naming the deep field, nothing stored.
	for _, c := range []struct {
		what   string
		change func(spec map[string]interface{})
		field  string
		msg    string
	}{
		{"a member's min over its max (CEL, in a list-map in a list-map)", func(spec map[string]interface{}) {
			m := spec["groups"].([]interface{})[2].(map[string]interface{})["members"].([]interface{})[3].(map[string]interface{})
			m["min"] = int64(50)
		}, "spec.groups[2].members[3]", "min must not exceed max"},
		{"a subsection's f01 over its f09 (CEL)", func(spec map[string]interface{}) {
			spec["s04"].(map[string]interface{})["sub00"].(map[string]interface{})["f01"] = int64(900)
		}, "spec.s04.sub00", "f01 must not exceed f09"},
		{"an integer over its maximum", func(spec map[string]interface{}) {
			spec["s03"].(map[string]interface{})["sub14"].(map[string]interface{})["f09"] = int64(5000)
		}, "spec.s03.sub14.f09", "less than or equal to 1000"},
		{"a string over its maxLength, in a list-map", func(spec map[string]interface{}) {
			m := spec["groups"].([]interface{})[1].(map[string]interface{})["members"].([]interface{})[2].(map[string]interface{})
			m["zone"] = strings.Repeat("z", 17)
		}, "spec.groups[1].members[2].zone", "16"},
		{"a duplicate list-map key", func(spec map[string]interface{}) {
			ms := spec["groups"].([]interface{})[0].(map[string]interface{})["members"].([]interface{})
			ms[1].(map[string]interface{})["id"] = int64(0)
		}, "spec.groups[0].members[1]", "Duplicate value"},
		{"a value not in its enum", func(spec map[string]interface{}) {
			spec["s02"].(map[string]interface{})["sub11"].(map[string]interface{})["f04"] = "z"
		}, "spec.s02.sub11.f04", "Unsupported value"},
		{"an int-or-string that is neither", func(spec map[string]interface{}) {
			spec["s01"].(map[string]interface{})["sub03"].(map[string]interface{})["f05"] = true
		}, "spec.s01.sub03.f05", ""},
		{"an embedded resource without its kind", func(spec map[string]interface{}) {
			delete(spec["template"].(map[string]interface{}), "kind")
		}, "spec.template.kind", "Required value"},
	} {
		bad := lsGiant(sh, "bad", filled)
		c.change(bad["spec"].(map[string]interface{}))
		_, err := giants.Create(ctx, &unstructured.Unstructured{Object: bad}, metav1.CreateOptions{})
		var st apierrors.APIStatus
		if !apierrors.IsInvalid(err) || !errors.As(err, &st) || st.Status().Details == nil {
			t.Errorf("%s: %v, want a 422", c.what, err)
			continue
		}
		found := false
		var fields []string
		for _, cause := range st.Status().Details.Causes {
			fields = append(fields, cause.Field)
			if cause.Field == c.field && strings.Contains(cause.Message, c.msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: the 422 does not name %s (with %q): causes %v\n%v", c.what, c.field, c.msg, fields, err)
		}
		if _, err := giants.Get(ctx, "bad", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s: a giant was stored: %v", c.what, err)
		}
	}

	// Server-side apply of a giant: the list-maps merge by their keys,
	// a deep field another manager owns conflicts.
	applied := lsGiant(sh, "applied", filled)
	delete(applied["spec"].(map[string]interface{}), "unknownTopLevel")
	delete(applied["spec"].(map[string]interface{})["s00"].(map[string]interface{})["sub00"].(map[string]interface{}), "bogus")
	ab, _ := json.Marshal(applied)
	if out, err := k.kubectl(string(ab), "apply", "--server-side", "--field-manager=alice", "-f", "-"); err != nil {
		t.Fatalf("kubectl apply --server-side of a giant: %v\n%s", err, out)
	}
	bob := func(spec string, extra ...string) (string, error) {
		return k.kubectl(`{"apiVersion":"big.example.com/v1","kind":"Giant","metadata":{"name":"applied"},"spec":`+spec+`}`,
			append([]string{"apply", "--server-side", "--field-manager=bob", "-f", "-"}, extra...)...)
	}
	out, err = bob(`{"s01":{"sub02":{"f00":"bob's"}}}`)
	if err == nil || !strings.Contains(out, `conflict with "alice"`) || !strings.Contains(out, ".spec.s01.sub02.f00") {
		t.Errorf("bob's apply of a deep field alice owns: %v\n%s", err, out)
	}
	if out, err := bob(`{"groups":[{"name":"g1","members":[{"id":99,"zone":"z9","min":1,"max":2}]}]}`); err != nil {
		t.Fatalf("bob's apply of a new member of g1: %v\n%s", err, out)
	}
	merged, err := giants.Get(ctx, "applied", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	groups, _, _ := unstructured.NestedSlice(merged.Object, "spec", "groups")
	var shape []string
	for _, g := range groups {
		members, _ := g.(map[string]interface{})["members"].([]interface{})
		var ids []string
		for _, m := range members {
			ids = append(ids, fmt.Sprint(m.(map[string]interface{})["id"]))
		}
		shape = append(shape, fmt.Sprintf("%v:%s", g.(map[string]interface{})["name"], strings.Join(ids, ",")))
	}
	if strings.Join(shape, " ") != "g0:0,1,2,3 g1:0,1,2,3,99 g2:0,1,2,3" {
		t.Errorf("groups after bob's apply: %v, want g0:0,1,2,3 g1:0,1,2,3,99 g2:0,1,2,3", shape)
	}
	if v, _, _ := unstructured.NestedString(merged.Object, "spec", "s01", "sub02", "f00"); v != lsGiantValue(sh, 1, 2, 0) {
		t.Errorf("spec.s01.sub02.f00 after bob's refused apply: %q", v)
	}
	if out, err := bob(`{"s01":{"sub02":{"f00":"bob's"}}}`, "--force-conflicts"); err != nil {
		t.Errorf("bob's forced apply: %v\n%s", err, out)
	} else if out := k.mustKubectl("", "get", "giant", "applied", "-o", "jsonpath={.spec.s01.sub02.f00} {.spec.s04.sub15.f05}"); out != fmt.Sprintf("bob's %v", lsGiantValue(sh, 4, 15, 5)) {
		t.Errorf("after bob's forced apply: %q", out)
	}

	// kubectl explain of deep fields.
	for _, c := range []struct {
		path string
		want []string
	}{
		{"giants.spec.s17.sub13.f00", []string{"KIND:       Giant", "VERSION:    v1", "FIELD: f00 <string>", "Field f00 of s17.sub13."}},
		{"giants.spec.s19.sub15", []string{"FIELD: sub15 <Object>", "Subsection sub15 of s19.", "f11", "f00"}},
		{"giants.spec.groups.members.weight", []string{"FIELD: weight <integer>", "The member's weight."}},
		{"giants.spec.port", []string{"FIELD: port <", "A port, by number or name."}},
		{"giants.spec.template", []string{"FIELD: template <Object>", "A resource to stamp out.", "apiVersion", "metadata"}},
	} {
		out, err := k.kubectl("", "explain", c.path)
		if err != nil {
			t.Errorf("kubectl explain %s: %v\n%s", c.path, err, out)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("kubectl explain %s lacks %q:\n%s", c.path, w, out)
			}
		}
	}

	// The group's OpenAPI v3 document holds the whole schema.
	raw := k.mustKubectl("", "get", "--raw", "/openapi/v3/apis/big.example.com/v1")
	var doc struct {
		Components struct {
			Schemas map[string]map[string]interface{}
		}
		Paths map[string]interface{}
	}
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		t.Fatalf("/openapi/v3/apis/big.example.com/v1: %v\n%.500s", err, raw)
	}
	model := doc.Components.Schemas["com.example.big.v1.Giant"]
	if model == nil {
		t.Fatalf("/openapi/v3/apis/big.example.com/v1 has no com.example.big.v1.Giant: %d schemas", len(doc.Components.Schemas))
	}
	if _, ok := doc.Paths["/apis/big.example.com/v1/namespaces/{namespace}/giants/{name}"]; !ok {
		t.Errorf("/openapi/v3/apis/big.example.com/v1 has no path of a giant")
	}
	specDoc := lsAt(model, "properties", "spec", "properties")
	if n := lsCount(lsToProps(specDoc)); n != count {
		t.Errorf("the published schema of spec has %d properties, the CRD %d", n, count)
	}
	for _, c := range []struct {
		path []string
		want string
	}{
		{[]string{"s19", "properties", "sub15", "properties", "f07", "type"}, "integer"},
		{[]string{"s19", "properties", "sub15", "properties", "f07", "default"}, "7"},
		{[]string{"s19", "properties", "sub15", "properties", "f11", "type"}, "number"},
		{[]string{"s07", "properties", "sub00", "x-kubernetes-validations"}, "f01 must not exceed f09"},
		{[]string{"groups", "x-kubernetes-list-type"}, "map"},
		{[]string{"groups", "items", "properties", "members", "x-kubernetes-list-map-keys"}, "[id zone]"},
		{[]string{"groups", "items", "properties", "members", "items", "x-kubernetes-validations"}, "min must not exceed max"},
		{[]string{"groups", "items", "properties", "port", "x-kubernetes-int-or-string"}, "true"},
		{[]string{"port", "x-kubernetes-int-or-string"}, "true"},
		{[]string{"s05", "properties", "sub02", "properties", "f04", "enum"}, "[a b c]"},
		{[]string{"s05", "properties", "sub02", "properties", "f06", "default"}, "d-s05-sub02-f06"},
		{[]string{"template", "x-kubernetes-embedded-resource"}, "true"},
		{[]string{"template", "x-kubernetes-preserve-unknown-fields"}, "true"},
		{[]string{"extras", "x-kubernetes-preserve-unknown-fields"}, "true"},
		{[]string{"defaulted", "properties", "retries", "default"}, "3"},
	} {
		v := lsAt(specDoc, c.path...)
		if !strings.Contains(fmt.Sprint(v), c.want) {
			t.Errorf("published schema: spec.%s is %v, want %s", strings.Join(c.path, "."), v, c.want)
		}
	}
	if md := fmt.Sprint(lsAt(specDoc, "template", "properties", "metadata")); !strings.Contains(md, "ObjectMeta") {
		t.Errorf("published schema: the embedded template has no ObjectMeta: %s", md)
	}

	// A change deep in the schema, applied again: the published document
	// changes (and so its hash in /openapi/v3, by which clients cache it),
	// and explain shows the change.
	before := lsOpenAPIURL(t, k, "apis/big.example.com/v1")
	lsProp(crd, "s17", "sub13", "f00")["description"] = "Changed by the second apply."
	body, err = json.Marshal(crd)
	if err != nil {
		t.Fatal(err)
	}
	k.mustKubectl(string(body), "apply", "--server-side", "-f", "-")
	var after, explained string
	if err := waitUntil(10*time.Second, func() bool {
		after = lsOpenAPIURL(t, k, "apis/big.example.com/v1")
		explained, _ = k.kubectl("", "explain", "giants.spec.s17.sub13.f00")
		return after != before && strings.Contains(explained, "Changed by the second apply.")
	}); err != nil {
		t.Errorf("after a change of the schema: /openapi/v3 lists %s (before: %s); kubectl explain says:\n%s", after, before, explained)
	}

	// The CRD deleted with its giant: both go.
	k.mustKubectl("", "delete", "crd", "giants.big.example.com", "--timeout=60s")
	if err := waitUntil(10*time.Second, func() bool {
		_, err := giants.List(ctx, metav1.ListOptions{})
		return apierrors.IsNotFound(err)
	}); err != nil {
		t.Errorf("giants are still served after their CRD went")
	}
	if resp, err := k.srv.Etcd().Get(ctx, "/registry/big.example.com/giants/", clientv3WithPrefix()...); err != nil || len(resp.Kvs) != 0 {
		t.Errorf("giants left in etcd: %v", err)
	}
}

// lsWarnings keeps the warnings a client gets.
type lsWarnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *lsWarnings) HandleWarningHeader(code int, agent, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

// take returns the warnings so far, sorted, and forgets them.
func (w *lsWarnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.msgs
	w.msgs = nil
	sort.Strings(out)
	return out
}

// lsGiantValue is the value lsGiant gives field f of subsection u of
// section s.
func lsGiantValue(sh lsShape, s, u, f int) interface{} {
	n := (s*sh.subsections+u)*sh.fields + f + 1
	if u == 0 && (f == 1 || f == 9) {
		return int64(f)
	}
	return lsValue(f, n)
}

// lsCount counts the properties of a schema, at every depth (items
// included).
func lsCount[P any](ps map[string]P) int {
	n := 0
	for _, p := range ps {
		n++
		b, _ := json.Marshal(p)
		var m map[string]interface{}
		json.Unmarshal(b, &m)
		n += lsCountMap(m)
	}
	return n
}

func lsCountMap(m map[string]interface{}) int {
	n := 0
	if ps, ok := m["properties"].(map[string]interface{}); ok {
		for _, p := range ps {
			n++
			if pm, ok := p.(map[string]interface{}); ok {
				n += lsCountMap(pm)
			}
		}
	}
	if it, ok := m["items"].(map[string]interface{}); ok {
		n += lsCountMap(it)
	}
	if ap, ok := m["additionalProperties"].(map[string]interface{}); ok {
		n += lsCountMap(ap)
	}
	return n
}

// lsToProps is a JSON object as a map of properties.
func lsToProps(v interface{}) map[string]interface{} {
	m, _ := v.(map[string]interface{})
	// The published template has apiVersion, kind and metadata added;
	// count what the CRD has.
	out := map[string]interface{}{}
	for k, p := range m {
		if k == "template" {
			pm := map[string]interface{}{}
			for kk, vv := range p.(map[string]interface{}) {
				if kk != "properties" {
					pm[kk] = vv
				}
			}
			p = pm
		}
		out[k] = p
	}
	return out
}

// lsOpenAPIURL is the serverRelativeURL (with its hash) /openapi/v3
// lists for path.
func lsOpenAPIURL(t *testing.T, k *kapi, path string) string {
	t.Helper()
	raw := k.mustKubectl("", "get", "--raw", "/openapi/v3")
	var root struct {
		Paths map[string]struct {
			ServerRelativeURL string `json:"serverRelativeURL"`
		} `json:"paths"`
	}
	if err := json.Unmarshal([]byte(raw), &root); err != nil {
		t.Fatalf("/openapi/v3: %v", err)
	}
	return root.Paths[path].ServerRelativeURL
}

// lsProp is the schema of spec.<path> in a CRD made by lsCRD.
func lsProp(crd map[string]interface{}, path ...string) map[string]interface{} {
	version := lsAt(crd, "spec", "versions").([]interface{})[0]
	p := lsAt(version, "schema", "openAPIV3Schema", "properties", "spec").(map[string]interface{})
	for _, name := range path {
		p = lsAt(p, "properties", name).(map[string]interface{})
	}
	return p
}

// lsAt is the value at path in JSON maps (nil if missing).
func lsAt(v interface{}, path ...string) interface{} {
	for _, p := range path {
		m, ok := v.(map[string]interface{})
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// lsLeaves counts the scalar values in a JSON value.
func lsLeaves(v interface{}) int {
	switch v := v.(type) {
	case map[string]interface{}:
		n := 0
		for _, x := range v {
			n += lsLeaves(x)
		}
		return n
	case []interface{}:
		n := 0
		for _, x := range v {
			n += lsLeaves(x)
		}
		return n
	}
	return 1
}
