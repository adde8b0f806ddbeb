// Package ports finds free loopback ports for the processes tests start,
// which must be told their ports before they bind them.
//
// A port the kernel gives a listener on port 0 is one of its ephemeral
// ports, which it also gives to outgoing connections. Between a test
// closing its probe and the process binding the port, an outgoing
// connection (an etcd member dialling its peers while they start, a
// client) can take it, and the process exits with "address already in
// use". The ports found here are below the ephemeral range, where only a
// listener that asks for a port by its number goes; chosen at random, so
// that test packages running at once rarely try the same ones.
package ports

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// lowest is the first port tried: above the ports services are known by.
const lowest = 10000

// Free returns a free loopback port below the ephemeral range.
func Free() (int, error) { return Range(1) }

// Range returns the first of n consecutive free loopback ports below the
// ephemeral range.
func Range(n int) (int, error) {
	top := ephemeralLow() - n
	if top <= lowest {
		return 0, fmt.Errorf("no room for %d ports between %d and the ephemeral range", n, lowest)
	}
	for range 100 {
		base := lowest + rand.IntN(top-lowest)
		if free(base, n) {
			return base, nil
		}
	}
	return 0, fmt.Errorf("no %d free consecutive loopback ports found below %d", n, top+n)
}

// free tells whether ports base to base+n-1 can be listened on now.
func free(base, n int) bool {
	for p := base; p < base+n; p++ {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}

// ephemeralLow is the first port of the kernel's ephemeral range
// (Linux's ip_local_port_range; its default where that cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if low, err := strconv.Atoi(f[0]); err == nil {
				return low
			}
		}
	}
	return 32768
}
