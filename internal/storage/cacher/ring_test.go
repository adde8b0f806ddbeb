package cacher

import (
	"slices"
	"testing"
)

// TestEventRing: the ring keeps the newest events up to its size, oldest
// first, and says which one each push dropped, across many turns of its
// array; a ring of size 0 keeps none.
func TestEventRing(t *testing.T) {
	for _, size := range []int{0, 1, 3, 5} {
		r := newEventRing(size)
		var pushed []int64
		for rev := int64(1); rev <= 17; rev++ {
			dropped := r.push(&event{rev: rev})
			pushed = append(pushed, rev)
			var wantDropped int64
			if len(pushed) > size {
				wantDropped = pushed[len(pushed)-size-1]
			}
			if got := revOf(dropped); got != wantDropped {
				t.Fatalf("size %d, push of %d dropped %d, want %d", size, rev, got, wantDropped)
			}
			var got []int64
			for e := range r.all() {
				got = append(got, e.rev)
			}
			if want := pushed[max(len(pushed)-size, 0):]; !slices.Equal(got, want) {
				t.Fatalf("size %d after %d: %v, want %v", size, rev, got, want)
			}
		}
	}
}

func revOf(e *event) int64 {
	if e == nil {
		return 0
	}
	return e.rev
}
