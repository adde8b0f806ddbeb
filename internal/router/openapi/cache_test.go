package openapi

import (
	"bytes"

	"testing"
)

// TestCacheBudget: encodings are built once while they are kept, the
// least recently served go when the budget is exceeded, and one larger
// than the budget is served but not kept.
func TestCacheBudget(t *testing.T) {
	c := newDocCache(220)
	builds := map[string]int{}
	doc := func(name string, size int) *document {
		return newDocument(name, func() ([]byte, error) {
			builds[name]++
			return bytes.Repeat([]byte("x"), size), nil
		}, nil)
	}
	a, b, big := doc("a", 100), doc("b", 100), doc("big", 300)
	for i := 0; i < 3; i++ {
		if _, err := c.get(a, variant{}); err != nil {
			t.Fatal(err)
		}
	}
	c.get(b, variant{})
	if builds["a"] != 1 || builds["b"] != 1 || c.used != 200 {
		t.Fatalf("builds %v, used %d", builds, c.used)
	}
	// gzip of a: a third encoding, over the budget; b is the oldest.
	gz, err := c.get(a, variant{gzip: true})
	if err != nil || len(gz) == 0 {
		t.Fatal(err)
	}
	c.get(a, variant{})
	c.get(b, variant{})
	if builds["b"] != 2 {
		t.Errorf("b was kept past the budget: builds %v, used %d", builds, c.used)
	}
	if c.used > 220 {
		t.Errorf("used %d of 220", c.used)
	}
	for i := 0; i < 2; i++ {
		if got, err := c.get(big, variant{}); err != nil || len(got) != 300 {
			t.Fatal(err)
		}
	}
	if builds["big"] != 2 || c.used > 220 {
		t.Errorf("a document over the budget: builds %d, used %d", builds["big"], c.used)
	}
}
