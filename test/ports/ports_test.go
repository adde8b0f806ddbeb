package ports

import (
	"net"
	"strconv"
	"testing"
)

// TestRange: the ports found are free and below the ephemeral range.
func TestRange(t *testing.T) {
	for _, n := range []int{1, 3, 6} {
		base, err := Range(n)
		if err != nil {
			t.Fatal(err)
		}
		if base < lowest || base+n > ephemeralLow() {
			t.Errorf("%d ports from %d: not between %d and the ephemeral range (%d)", n, base, lowest, ephemeralLow())
		}
		for p := base; p < base+n; p++ {
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err != nil {
				t.Errorf("port %d of %d from %d: %v", p-base+1, n, base, err)
				continue
			}
			l.Close()
		}
	}
}

// TestRangeSkipsTaken: a port in use is not given.
func TestRangeSkipsTaken(t *testing.T) {
	base, err := Free()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(base)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if free(base, 1) {
		t.Errorf("port %d is in use, yet free", base)
	}
}
