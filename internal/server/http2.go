package server

import (
	"context"
	"crypto/tls"
	"net/http"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

// serveHTTP2 serves HTTP/2 with golang.org/x/net/http2 (the same server that
// net/http bundles) over each TLS connection wrapped in a headersConn, so that
// a response's HEADERS frame and its first DATA frame leave in one TLS record
// and one write system call instead of two.
//
// Why: Go's HTTP/2 server writes a response's HEADERS, waits for the frame to
// be written (so that the handler may change its header map afterwards), and
// flushes the connection as soon as it has nothing else queued, which it has
// not, since the handler is still waiting. Then the DATA frame comes and is
// flushed on its own. On a small get this doubled the TLS records and write
// calls of every response; the write calls were a fifth of kapi's CPU.
func serveHTTP2(srv *http.Server) error {
	h2 := &http2.Server{}
	if err := http2.ConfigureServer(srv, h2); err != nil {
		return err
	}
	srv.TLSNextProto[http2.NextProtoTLS] = func(hs *http.Server, c *tls.Conn, h http.Handler) {
		// net/http hands its per-connection base context down this way (as
		// x/net/http2's own ConfigureServer does).
		var ctx context.Context
		if bc, ok := h.(interface{ BaseContext() context.Context }); ok {
			ctx = bc.BaseContext()
		}
		hc := newHeadersConn(c)
		defer hc.stop()
		h2.ServeConn(hc, &http2.ServeConnOpts{Context: ctx, Handler: h, BaseConfig: hs})
	}
	return nil
}

// headersHold is how long a lone HEADERS frame waits for what follows it. A
// response that stays open after its headers (a watch) starts this much later.
var headersHold = 200 * time.Microsecond

// headersConn holds a write of the HTTP/2 server that ends in a HEADERS frame
// which does not end its stream (so DATA or trailers follow) until the next
// write, or headersHold, whichever comes first. It keeps the connection's
// ConnectionState (by embedding), which the server reads for the request's
// TLS state.
type headersConn struct {
	*tls.Conn

	mu    sync.Mutex
	held  []byte
	timer *time.Timer
	err   error // of a held write made by the timer
}

func newHeadersConn(c *tls.Conn) *headersConn {
	hc := &headersConn{Conn: c}
	hc.timer = time.AfterFunc(time.Hour, hc.release)
	hc.timer.Stop()
	return hc
}

// Write is called by one goroutine of the server at a time; release may run
// beside it.
func (c *headersConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if len(c.held) == 0 {
		if len(p) <= maxHeld && endsInOpenHeaders(p) {
			c.held = append(c.held, p...)
			c.timer.Reset(headersHold)
			return len(p), nil
		}
		return c.Conn.Write(p)
	}
	c.timer.Stop()
	var err error
	if len(p) > maxJoined {
		// Not worth copying: two records, as without the hold.
		if _, err = c.Conn.Write(c.held); err == nil {
			_, err = c.Conn.Write(p)
		}
	} else {
		c.held = append(c.held, p...)
		_, err = c.Conn.Write(c.held)
	}
	c.held = c.held[:0]
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// release writes what is held when nothing followed it in time.
func (c *headersConn) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.held) == 0 || c.err != nil {
		return
	}
	if _, err := c.Conn.Write(c.held); err != nil {
		c.err = err
	}
	c.held = c.held[:0]
}

// stop ends the timer when the connection is done; the server has closed it.
func (c *headersConn) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timer.Stop()
	c.held = nil
}

const (
	maxHeld   = 16 << 10
	maxJoined = 64 << 10

	frameHeaders   = 0x1
	flagEndStream  = 0x1
	flagEndHeaders = 0x4
)

// endsInOpenHeaders tells whether p is whole HTTP/2 frames of which the last
// is a complete HEADERS frame that does not end its stream.
func endsInOpenHeaders(p []byte) bool {
	last := -1
	for i := 0; i < len(p); {
		if len(p)-i < 9 {
			return false
		}
		n := int(p[i])<<16 | int(p[i+1])<<8 | int(p[i+2])
		last = i
		i += 9 + n
		if i > len(p) {
			return false
		}
	}
	if last < 0 {
		return false
	}
	typ, flags := p[last+3], p[last+4]
	return typ == frameHeaders && flags&flagEndHeaders != 0 && flags&flagEndStream == 0
}
