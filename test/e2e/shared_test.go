package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/metadata"
)

// TestSharedObjectsStayIntact: the watch cache hands the same objects to
// every reader that only encodes them (serialize once). Answers that are
// built from them (Table rows with the object, metadata-only watches,
// list items without kind) must leave them as they were: a plain get and
// list afterwards are what they were before, byte for byte (the list's
// own resourceVersion aside: the cache's revision moves with every write).
func TestSharedObjectsStayIntact(t *testing.T) {
	k := startKapi(t, withoutLoops(rootCAPublisher))
	ctx := context.Background()
	cms := k.client.CoreV1().ConfigMaps("default")
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "shared"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/namespaces/default/configmaps"
	get := func() []byte {
		code, _, body := k.do(t, "GET", path+"/shared?resourceVersion=0", "", nil, "Accept", "application/json")
		if code != 200 {
			t.Fatalf("get: %d %s", code, body)
		}
		return body
	}
	// A list's own resourceVersion is the cache's revision, which kapi's
	// leases move every few seconds; its items are what is compared.
	listRV := regexp.MustCompile(`^\{"kind":"ConfigMapList","apiVersion":"v1","metadata":\{"resourceVersion":"\d+"\}`)
	list := func() []byte {
		code, _, body := k.do(t, "GET", path+"?resourceVersion=0", "", nil, "Accept", "application/json")
		if code != 200 || !listRV.Match(body) {
			t.Fatalf("list: %d %s", code, body)
		}
		return listRV.ReplaceAll(body, []byte(`{"kind":"ConfigMapList","apiVersion":"v1","metadata":{}`))
	}
	// Wait until the cache has the object, then take the reference answers.
	deadline := time.Now().Add(10 * time.Second)
	for !bytes.Contains(list(), []byte(`"shared"`)) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	getBefore, listBefore := get(), list()
	var one corev1.ConfigMap
	var all corev1.ConfigMapList
	if err := json.Unmarshal(getBefore, &one); err != nil || one.Kind != "ConfigMap" || one.APIVersion != "v1" || one.Data["k"] != "v" {
		t.Fatalf("get: %v %s", err, getBefore)
	}
	if err := json.Unmarshal(listBefore, &all); err != nil || len(all.Items) != 1 || all.Items[0].Kind != "" || all.Items[0].APIVersion != "" {
		t.Fatalf("list items carry no kind: %v %s", err, listBefore)
	}

	// Table rows carrying the object, for one object and for the list.
	for _, p := range []string{path + "/shared", path} {
		code, _, body := k.do(t, "GET", p+"?includeObject=Object&resourceVersion=0", "", nil, "Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
		var table metav1.Table
		if err := json.Unmarshal(body, &table); code != 200 || err != nil || len(table.Rows) != 1 {
			t.Fatalf("Table of %s: %d %v %s", p, code, err, body)
		}
		var row corev1.ConfigMap
		if err := json.Unmarshal(table.Rows[0].Object.Raw, &row); err != nil || row.Kind != "ConfigMap" || row.APIVersion != "v1" || row.Data["k"] != "v" {
			t.Fatalf("Table row of %s: %v %s", p, err, table.Rows[0].Object.Raw)
		}
	}

	// The same revision again: the cached answers, and a format not
	// encoded before (so from the shared object as it is now).
	if !bytes.Equal(get(), getBefore) || !bytes.Equal(list(), listBefore) {
		t.Fatal("the answers of one revision changed")
	}
	code, _, yamlBody := k.do(t, "GET", path+"/shared?resourceVersion=0", "", nil, "Accept", "application/yaml")
	if y := string(yamlBody); code != 200 || !strings.Contains(y, "kind: ConfigMap") || !strings.Contains(y, "apiVersion: v1") || !strings.Contains(y, "k: v") {
		t.Fatalf("YAML after the Tables: %d\n%s", code, y)
	}

	// A metadata-only watch (as controller-runtime's metadata informers).
	meta, err := metadata.NewForConfig(k.rest)
	if err != nil {
		t.Fatal(err)
	}
	w, err := meta.Resource(corev1.SchemeGroupVersion.WithResource("configmaps")).Namespace("default").
		Watch(ctx, metav1.ListOptions{ResourceVersion: one.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	updated := one.DeepCopy()
	updated.Labels = map[string]string{"touched": "yes"}
	if _, err := cms.Update(ctx, updated, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w.ResultChan():
		if p, ok := ev.Object.(*metav1.PartialObjectMetadata); ev.Type != watch.Modified || !ok || p.Name != "shared" || p.Labels["touched"] != "yes" {
			t.Fatalf("metadata watch: %s %#v", ev.Type, ev.Object)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no metadata watch event")
	}

	// The update made a new revision; the old one's answers are gone, the
	// new one's must be whole, with its kind, and stable.
	after := get()
	var now corev1.ConfigMap
	if err := json.Unmarshal(after, &now); err != nil || now.Kind != "ConfigMap" || now.APIVersion != "v1" || now.Data["k"] != "v" || now.Labels["touched"] != "yes" {
		t.Fatalf("get after: %v %s", err, after)
	}
	if again := get(); !bytes.Equal(again, after) {
		t.Fatalf("two gets of one revision differ:\n%s\n%s", after, again)
	}
	if l1, l2 := list(), list(); !bytes.Equal(l1, l2) || !bytes.Contains(l1, []byte(`"touched":"yes"`)) {
		t.Fatalf("two lists of one revision differ, or miss the update:\n%s\n%s", l1, l2)
	}
}
