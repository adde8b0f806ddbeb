package cacher

import (
	"github.com/google/btree"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// labelIndex holds, for each label pair ("key=value"), the cached objects
// that carry it, in key order: a list selecting by a label visits those
// only, rather than every object of the resource (a 1% selector over
// 50,000 Pods read every Pod's labels, each a cache miss). Kept with the
// items, under the cacher's lock.
type labelIndex map[string]*btree.BTreeG[*entry]

func labelPairs(e *entry) map[string]string {
	m, err := meta.Accessor(e.obj.Object())
	if err != nil {
		return nil
	}
	return m.GetLabels()
}

// add indexes e's labels.
func (x labelIndex) add(e *entry) {
	for k, v := range labelPairs(e) {
		pair := k + "=" + v
		t := x[pair]
		if t == nil {
			t = btree.NewG(8, byKey)
			x[pair] = t
		}
		t.ReplaceOrInsert(e)
	}
}

// remove forgets e's labels.
func (x labelIndex) remove(e *entry) {
	for k, v := range labelPairs(e) {
		pair := k + "=" + v
		if t := x[pair]; t != nil {
			t.Delete(e)
			if t.Len() == 0 {
				delete(x, pair)
			}
		}
	}
}

// narrowest is the smallest set of objects that one equality requirement
// of sel allows (nil: none carries it) and the requirement's label, and
// false when sel has no such requirement; every object of the set must
// still be matched against the whole selector.
func (x labelIndex) narrowest(sel labels.Selector) (*btree.BTreeG[*entry], string, bool) {
	if sel == nil {
		return nil, "", false
	}
	reqs, selectable := sel.Requirements()
	if !selectable {
		return nil, "", false
	}
	var best *btree.BTreeG[*entry]
	var label string
	found := false
	for _, r := range reqs {
		op := r.Operator()
		if op != selection.Equals && op != selection.DoubleEquals && !(op == selection.In && r.Values().Len() == 1) {
			continue
		}
		t := x[r.Key()+"="+r.Values().List()[0]]
		if t == nil {
			return nil, r.Key(), true // nothing carries it
		}
		if !found || t.Len() < best.Len() {
			best, label, found = t, r.Key(), true
		}
	}
	return best, label, found
}
