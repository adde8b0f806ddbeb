// Package proxy sends a request on to where an object is served: a
// service's endpoint, a pod, a node's kubelet, an aggregated API server.
// The subresources (services/proxy, pods/proxy, nodes/proxy, pods/log,
// exec, attach, portforward) and the aggregator find the target; this
// file streams to it.
package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"

	"github.com/mxk/go-flowrate/flowrate"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"
)

// Location is where a request goes: the target's scheme and host, and
// the path (escaped, as the client sent it) and query to ask for there.
type Location struct {
	URL *url.URL
	// Transport reaches the target (TLS to a kubelet with its client
	// certificate, a dialer refusing host-local addresses).
	Transport http.RoundTripper
}

// Options say how the request is handed on.
type Options struct {
	// Error writes a failure the client sees as a Status (the router's
	// error writer, with content negotiation).
	Error func(w http.ResponseWriter, r *http.Request, err error)
	// KeepQuery: the target's query is the client's (proxy); otherwise
	// it is the Location's (log, exec: built from the options).
	KeepQuery bool
	// RedirectEmptyPath: a GET of the proxy itself without a trailing
	// path is redirected to the same URL with "/", as kube-apiserver does
	// (issue 4958), so that relative links of the proxied page resolve
	// below the proxy.
	RedirectEmptyPath bool
	// Rewrite: the answer is seen through the proxy, as kube's proxy
	// transport shows it: the target gets X-Forwarded-Uri (the client's
	// path), a Location header pointing at the target, and links of an
	// HTML page, are rewritten below the proxy's prefix, and CORS headers
	// are dropped (kapi's own apply). Rest is the client's escaped path
	// below the proxy (Connect's rest): the path above it is the prefix
	// (Handler's; Connect gives each request its own).
	Rewrite bool
	Rest    string
	// RejectRedirects: an answer that redirects (3xx with a Location) is
	// not passed on but replaced by a 502, as kube's upgrade-aware proxy
	// does with RejectForwardingRedirects (the aggregator's, by default:
	// --aggregator-reject-forwarding-redirect).
	RejectRedirects bool
	// MaxBytesPerSec throttles an upgraded connection (exec, attach,
	// port forwarding, a WebSocket through a proxy) to this many bytes a
	// second each way between kapi and the target, as kube's upgrade-aware
	// proxy does with --max-connection-bytes-per-sec; 0 does not.
	MaxBytesPerSec int64
}

// Handler streams r to loc and the answer back: bodies both ways without
// buffering, chunked and event streams flushed as they come, WebSocket
// and SPDY upgrades spliced (httputil.ReverseProxy handles a 101), and
// the target's request cancelled when the client goes.
func Handler(loc Location, opts Options) http.Handler {
	s := newStreamer(loc.Transport, opts)
	s.fixed = loc.URL
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, loc.URL, opts.Rest) })
}

// streamer is Handler's machinery, built once for every target of a
// subresource (Connect) rather than once a request: a proxied small
// request allocated a ReverseProxy and its closures each time. The
// target of a request is in its context (target), or fixed.
type streamer struct {
	rp    *httputil.ReverseProxy
	opts  Options
	fixed *url.URL
}

// target is the URL a request goes to and, with Options.Rewrite, the
// proxy's prefix (the client's path above the proxied one,
// "/api/v1/namespaces/ns/services/web:80/proxy"), carried from the
// handler to the ReverseProxy and the transport of one request.
type target struct {
	url    *url.URL
	prefix string
}

type targetKey struct{}

func targetOf(ctx context.Context) *target {
	t, _ := ctx.Value(targetKey{}).(*target)
	return t
}

func newStreamer(transport http.RoundTripper, opts Options) *streamer {
	s := &streamer{opts: opts}
	s.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			to := s.fixed
			if t := targetOf(pr.In.Context()); t != nil {
				to = t.url
			}
			u := *to
			if opts.KeepQuery {
				u.RawQuery = pr.In.URL.RawQuery
			}
			pr.Out.URL = &u
			pr.Out.Host = u.Host
			if opts.Rewrite {
				// The Host header is the target's either way; left to
				// the URL, kube's proxy transport sees a redirect to the
				// target itself as one to "this" host, and makes it a
				// path on the API server, as kube's (whose request
				// carries the client's Host) does.
				pr.Out.Host = ""
			}
			pr.SetXForwarded()
		},
		Transport:  throughProxy(transport, opts.Rewrite),
		BufferPool: buffers,
		// Flushed as written: an event stream or a watch through the
		// proxy arrives event by event.
		FlushInterval: -1,
		ErrorLog:      copyErrors,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client went: nobody to answer
			}
			var status apierrors.APIStatus
			if !errors.As(err, &status) {
				err = apierrors.NewServiceUnavailable(fmt.Sprintf("error trying to reach service: %v", err))
			}
			opts.Error(w, r, err)
		},
	}
	if opts.Rewrite {
		s.rp.ModifyResponse = dropCORS
	}
	if opts.MaxBytesPerSec > 0 {
		then := s.rp.ModifyResponse
		s.rp.ModifyResponse = func(resp *http.Response) error {
			if rwc, ok := resp.Body.(io.ReadWriteCloser); ok && resp.StatusCode == http.StatusSwitchingProtocols {
				resp.Body = newThrottled(rwc, opts.MaxBytesPerSec)
			}
			if then == nil {
				return nil
			}
			return then(resp)
		}
	}
	if opts.RejectRedirects {
		then := s.rp.ModifyResponse
		s.rp.ModifyResponse = func(resp *http.Response) error {
			if err := rejectRedirect(resp); err != nil || then == nil {
				return err
			}
			return then(resp)
		}
	}
	return s
}

// throttled is an upgraded connection to a target read and written at a
// bounded rate (kube's flowrate reader and writer).
type throttled struct {
	io.Closer
	r *flowrate.Reader
	w *flowrate.Writer
}

func newThrottled(c io.ReadWriteCloser, bytesPerSec int64) *throttled {
	return &throttled{Closer: c, r: flowrate.NewReader(c, bytesPerSec), w: flowrate.NewWriter(c, bytesPerSec)}
}

func (t *throttled) Read(p []byte) (int, error)  { return t.r.Read(p) }
func (t *throttled) Write(p []byte) (int, error) { return t.w.Write(p) }

// redirectRejected is kube's answer in place of a redirect.
const redirectRejected = "the backend attempted to redirect this request, which is not permitted"

// rejectRedirect replaces a redirecting answer by kube's 502, with its
// words as the body and no header of the backend's.
func rejectRedirect(resp *http.Response) error {
	if resp.StatusCode < 300 || resp.StatusCode > 399 || resp.Header.Get("Location") == "" {
		return nil
	}
	resp.Body.Close()
	*resp = http.Response{StatusCode: http.StatusBadGateway, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(redirectRejected)),
		ContentLength: int64(len(redirectRejected)), Proto: resp.Proto, ProtoMajor: resp.ProtoMajor, ProtoMinor: resp.ProtoMinor, Request: resp.Request}
	return nil
}

// serve streams r to u; rest is the client's escaped path below the
// proxy (Options.Rest).
func (s *streamer) serve(w http.ResponseWriter, r *http.Request, u *url.URL, rest string) {
	if s.opts.RedirectEmptyPath && u.Path == "" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		ru := *r.URL
		ru.Path += "/"
		if ru.RawPath != "" {
			ru.RawPath += "/"
		}
		http.Redirect(w, r, ru.RequestURI(), http.StatusMovedPermanently)
		return
	}
	if u != s.fixed || s.opts.Rewrite {
		t := &target{url: u}
		if s.opts.Rewrite {
			t.prefix = strings.TrimSuffix(r.URL.EscapedPath(), rest)
		}
		r = r.WithContext(context.WithValue(r.Context(), targetKey{}, t))
	}
	s.rp.ServeHTTP(hijackBuffered{w}, r)
}

// to is s's handler for one target and path below the proxy.
type to struct {
	s    *streamer
	url  *url.URL
	rest string
}

func (h *to) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.s.serve(w, r, h.url, h.rest) }

// hijackBuffered gives ReverseProxy, which writes the target's 101
// through the bufio.ReadWriter a Hijack returns, a ReadWriter even when
// the writer's Hijack returns none: k8s.io/apiserver's TunnelingHandler
// (a port forward tunnelled in a WebSocket) returns only the connection,
// and ReverseProxy would dereference the nil.
type hijackBuffered struct{ http.ResponseWriter }

func (w hijackBuffered) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w hijackBuffered) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && brw == nil {
		brw = bufio.NewReadWriter(bufio.NewReader(conn), bufio.NewWriter(conn))
	}
	return conn, brw, err
}

// JoinPath is base's path with rest (escaped) below it, as a URL's Path
// and RawPath: an encoded slash in rest stays encoded.
func JoinPath(u *url.URL, rest string) error {
	escaped := strings.TrimSuffix(u.EscapedPath(), "/") + rest
	if rest == "" {
		escaped = u.EscapedPath()
	}
	p, err := url.PathUnescape(escaped)
	if err != nil {
		return err
	}
	u.Path, u.RawPath = p, ""
	if u.EscapedPath() != escaped {
		u.RawPath = escaped
	}
	return nil
}

// copyErrors is the ReverseProxy's own log: it reports there only a
// body copy that stopped ("read error during body copy: unexpected
// EOF"), which is how every watch or stream ends when the target or the
// client goes, so it goes to klog at V(2) rather than to the standard
// logger's stderr, where each ended watch would add a line. (kube's
// UpgradeAwareHandler writes these to stderr. A target that cannot be
// reached is not one of them: ErrorHandler answers it as a Status.)
var copyErrors = log.New(klogWriter{}, "", 0)

type klogWriter struct{}

func (klogWriter) Write(p []byte) (int, error) {
	klog.V(2).InfoS(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// buffers are the copy buffers of every proxied body (32 KiB, as
// ReverseProxy's own), reused across requests.
var buffers = &bufferPool{}

// bufferPool keeps buffers behind pointers (a slice put in a sync.Pool
// as it is would be boxed, an allocation each time); the emptied
// pointers are kept too, so that a Put after a Get allocates nothing.
type bufferPool struct{ full, empty sync.Pool }

func (p *bufferPool) Get() []byte {
	bp, ok := p.full.Get().(*[]byte)
	if !ok {
		return make([]byte, 32<<10)
	}
	b := *bp
	*bp = nil
	p.empty.Put(bp)
	return b
}

func (p *bufferPool) Put(b []byte) {
	bp, ok := p.empty.Get().(*[]byte)
	if !ok {
		bp = new([]byte)
	}
	*bp = b
	p.full.Put(bp)
}
