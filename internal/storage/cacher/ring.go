package cacher

import "iter"

// eventRing holds a cache's most recent events, oldest first, up to max:
// an event pushed when it is full takes the place of the oldest, so that
// a push moves no other event and allocates nothing once the ring has
// grown to max. (A slice that dropped its oldest by copying the rest
// copied max pointers, and made a new array of them for the collector to
// scan, on every change of a busy resource.)
type eventRing struct {
	buf   []*event // grows to max, then stays
	start int      // the oldest event's index once buf is full
	max   int
}

func newEventRing(max int) eventRing {
	return eventRing{max: max}
}

// push adds e, and returns the event it drops (nil while the ring is not
// full).
func (r *eventRing) push(e *event) (dropped *event) {
	if len(r.buf) < r.max {
		r.buf = append(r.buf, e)
		return nil
	}
	if r.max <= 0 {
		return e
	}
	dropped, r.buf[r.start] = r.buf[r.start], e
	if r.start++; r.start == len(r.buf) {
		r.start = 0
	}
	return dropped
}

// all yields the events, oldest first.
func (r *eventRing) all() iter.Seq[*event] {
	return func(yield func(*event) bool) {
		for _, part := range [2][]*event{r.buf[r.start:], r.buf[:r.start]} {
			for _, e := range part {
				if !yield(e) {
					return
				}
			}
		}
	}
}
