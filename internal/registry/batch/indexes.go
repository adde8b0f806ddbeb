package batch

import (
	"fmt"
	"strconv"
	"strings"
)

// An indexed job's sets of indexes (status.completedIndexes,
// status.failedIndexes, a success policy's succeededIndexes) are written
// as increasing intervals: "1,3-5,7". These are kube's parsers, with its
// messages.

// indexInterval is one interval, first to last (equal for one index).
type indexInterval struct{ first, last int32 }

// countIndexes checks that list is well formed, within 0..completions-1
// and increasing, and counts its indexes.
func countIndexes(list string, completions int32) (int32, error) {
	if list == "" {
		return 0, nil
	}
	var total int32
	prev := int32(-1)
	for i, part := range strings.Split(list, ",") {
		iv, err := parseIndexInterval(part, completions)
		if err != nil {
			return 0, err
		}
		if i > 0 && prev >= iv.first {
			return 0, fmt.Errorf("non-increasing order, previous: %d, current: %d", prev, iv.first)
		}
		total += iv.last - iv.first + 1
		prev = iv.last
	}
	return total, nil
}

// parseIndexInterval reads "x" or "x-y", x < y < completions.
func parseIndexInterval(s string, completions int32) (indexInterval, error) {
	limits := strings.Split(s, "-")
	if len(limits) > 2 {
		return indexInterval{}, fmt.Errorf("the fragment %q violates the requirement that an index interval can have at most two parts separated by '-'", s)
	}
	var v [2]int32
	for i, l := range limits {
		n, err := strconv.Atoi(l)
		if err != nil {
			return indexInterval{}, fmt.Errorf("cannot convert string to integer for index: %q", l)
		}
		if n >= int(completions) {
			return indexInterval{}, fmt.Errorf("too large index: %q", l)
		}
		v[i] = int32(n)
	}
	if len(limits) == 1 {
		return indexInterval{v[0], v[0]}, nil
	}
	if v[0] >= v[1] {
		return indexInterval{}, fmt.Errorf("non-increasing order, previous: %d, current: %d", v[0], v[1])
	}
	return indexInterval{v[0], v[1]}, nil
}

// indexesOverlap is the first index two lists share, walking both in
// order and passing over intervals that do not parse (their format is
// reported on its own).
func indexesOverlap(completed, failed string, completions int32) error {
	if completed == "" || failed == "" {
		return nil
	}
	cs, fs := strings.Split(completed, ","), strings.Split(failed, ",")
	ci, fi := 0, 0
	c, cErr := parseIndexInterval(cs[0], completions)
	f, fErr := parseIndexInterval(fs[0], completions)
	for ci < len(cs) && fi < len(fs) {
		switch {
		case cErr != nil:
			if ci++; ci < len(cs) {
				c, cErr = parseIndexInterval(cs[ci], completions)
			}
		case fErr != nil:
			if fi++; fi < len(fs) {
				f, fErr = parseIndexInterval(fs[fi], completions)
			}
		case c.first <= f.last && f.first <= c.last:
			return fmt.Errorf("failedIndexes and completedIndexes overlap at index: %d", max(c.first, f.first))
		case c.first <= f.first:
			if ci++; ci < len(cs) {
				c, cErr = parseIndexInterval(cs[ci], completions)
			}
		default:
			if fi++; fi < len(fs) {
				f, fErr = parseIndexInterval(fs[fi], completions)
			}
		}
	}
	return nil
}
