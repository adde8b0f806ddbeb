package server

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// idleLinger is how long a connection must have been idle, once the
// server is shutting down, before idleConns closes it: time for the last
// response's frames and the HTTP/2 GOAWAY to be flushed, which the
// connection's own goroutine does as soon as it has queued them.
const idleLinger = 100 * time.Millisecond

// idleConns closes the HTTP/2 connections that have no stream open once
// the server is shutting down (http.Server's ConnState hook).
//
// http.Server.Shutdown closes idle HTTP/1 connections itself, but an
// HTTP/2 connection stays active to it: the HTTP/2 server sends GOAWAY
// and then waits for the client to hang up, for up to a second. Go's
// HTTP/2 client (client-go's) hangs up only when a stream ends after the
// GOAWAY, never on a connection that was idle when it came, so every stop
// with an idle client connection took that second (measured: 1.07 s of
// kapi's 1.10 s stop under kapi-bench, one idle client-go connection).
// kube-apiserver waits the same second; a restarted replica or a test's
// kapi need not.
type idleConns struct {
	mu       sync.Mutex
	shutting bool
	conns    map[net.Conn]*connState
	closed   int // by idleConns, for tests
}

type connState struct {
	state http.ConnState
	since time.Time
}

func newIdleConns() *idleConns {
	return &idleConns{conns: map[net.Conn]*connState{}}
}

// track is the http.Server's ConnState hook. The HTTP/2 server reports
// StateActive and StateIdle as its streams open and close.
func (t *idleConns) track(c net.Conn, st http.ConnState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st == http.StateClosed || st == http.StateHijacked {
		delete(t.conns, c)
		return
	}
	cs := t.conns[c]
	if cs == nil {
		cs = &connState{}
		t.conns[c] = cs
	}
	cs.state, cs.since = st, time.Now()
	if t.shutting && st == http.StateIdle {
		t.closeIdle(c, cs.since)
	}
}

// shutdown starts closing the connections idle now, and each one that
// becomes idle from now on.
func (t *idleConns) shutdown() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.shutting = true
	now := time.Now()
	for c, cs := range t.conns {
		if cs.state == http.StateIdle {
			t.closeIdle(c, now)
		}
	}
}

// closeIdle closes c after idleLinger, unless a stream opened meanwhile
// (its since changed).
func (t *idleConns) closeIdle(c net.Conn, since time.Time) {
	time.AfterFunc(idleLinger, func() {
		t.mu.Lock()
		cs := t.conns[c]
		still := cs != nil && cs.state == http.StateIdle && !cs.since.After(since)
		if still {
			t.closed++
		}
		t.mu.Unlock()
		if still {
			c.Close()
		}
	})
}
