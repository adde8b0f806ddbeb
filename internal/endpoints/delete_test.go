package endpoints

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// pagedConfigMaps lists n ConfigMaps in pages of size, the continue token
// being the index of the page's next item; it records the options of
// each call.
type pagedConfigMaps struct {
	n, size int
	calls   []metav1.ListOptions
}

func (p *pagedConfigMaps) list(o *metav1.ListOptions) (runtime.Object, error) {
	p.calls = append(p.calls, *o)
	from := 0
	if o.Continue != "" {
		fmt.Sscan(o.Continue, &from)
	}
	l := &corev1.ConfigMapList{ListMeta: metav1.ListMeta{ResourceVersion: fmt.Sprint(100 + len(p.calls))}}
	for i := from; i < p.n && i < from+p.size; i++ {
		l.Items = append(l.Items, corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%03d", i)}})
	}
	if from+p.size < p.n {
		l.Continue = fmt.Sprint(from + p.size)
	}
	return l, nil
}

// deleted gathers the names del was given, from several workers.
type deleted struct {
	mu    sync.Mutex
	names []string
}

func (d *deleted) del(obj runtime.Object) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.names = append(d.names, obj.(*corev1.ConfigMap).Name)
	return nil
}

// TestDeleteListedPages: as kube's DeleteCollection, a deletecollection
// without a limit lists in pages of 10,000 (the pages after the first
// from their continue token, at no resourceVersion), deletes every item
// on its workers, and answers the first page's list holding them all.
func TestDeleteListedPages(t *testing.T) {
	p := &pagedConfigMaps{n: 25, size: 10}
	var d deleted
	opts := &metav1.ListOptions{LabelSelector: "a=b", ResourceVersion: "7", ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan}
	out, err := deleteListed(context.Background(), p.list, opts, 4, d.del)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.calls) != 3 {
		t.Fatalf("%d lists, want 3", len(p.calls))
	}
	if c := p.calls[0]; c.Limit != 10000 || c.ResourceVersion != "7" || c.Continue != "" || c.LabelSelector != "a=b" {
		t.Errorf("first list %+v, want limit 10000, resourceVersion 7, the selector", c)
	}
	for _, c := range p.calls[1:] {
		if c.Continue == "" || c.ResourceVersion != "" || c.ResourceVersionMatch != "" || c.LabelSelector != "a=b" {
			t.Errorf("a later list %+v, want a continue token, no resourceVersion, the selector", c)
		}
	}
	l := out.(*corev1.ConfigMapList)
	if len(l.Items) != 25 || l.Items[0].Name != "cm-000" || l.Items[24].Name != "cm-024" || l.ResourceVersion != "101" {
		t.Errorf("answer: %d items, resourceVersion %s; want 25 in order, the first page's resourceVersion", len(l.Items), l.ResourceVersion)
	}
	sort.Strings(d.names)
	if len(d.names) != 25 || d.names[0] != "cm-000" || d.names[24] != "cm-024" || len(slices.Compact(d.names)) != 25 {
		t.Errorf("deleted %v, want each of the 25 once", d.names)
	}
}

// TestDeleteListedLimit: a deletecollection with a limit deletes that one
// page and answers it, its continue token included.
func TestDeleteListedLimit(t *testing.T) {
	p := &pagedConfigMaps{n: 25, size: 10}
	var d deleted
	out, err := deleteListed(context.Background(), p.list, &metav1.ListOptions{Limit: 10}, 1, d.del)
	if err != nil {
		t.Fatal(err)
	}
	l := out.(*corev1.ConfigMapList)
	if len(p.calls) != 1 || len(l.Items) != 10 || l.Continue != "10" || len(d.names) != 10 {
		t.Errorf("%d lists, %d items answered (continue %q), %d deleted; want 1, 10 (continue 10), 10", len(p.calls), len(l.Items), l.Continue, len(d.names))
	}
}

// TestDeleteListedError: a deletion that fails ends the request with its
// error; with one worker, nothing after it is deleted and no further page
// is listed.
func TestDeleteListedError(t *testing.T) {
	p := &pagedConfigMaps{n: 600, size: 300}
	boom := errors.New("boom")
	var d deleted
	out, err := deleteListed(context.Background(), p.list, &metav1.ListOptions{}, 1, func(obj runtime.Object) error {
		if obj.(*corev1.ConfigMap).Name == "cm-005" {
			return boom
		}
		return d.del(obj)
	})
	if !errors.Is(err, boom) || out != nil {
		t.Fatalf("answer %v, error %v; want the deletion's error", out, err)
	}
	if len(d.names) != 5 || len(p.calls) != 1 {
		t.Errorf("deleted %d, listed %d pages; want 5 and 1", len(d.names), len(p.calls))
	}
}
