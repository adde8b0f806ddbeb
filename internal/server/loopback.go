package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"sync"

	"k8s.io/client-go/rest"

	"kapi/internal/request"
)

// loopback is kapi's client of itself: the control loops write through
// it, and each write is an HTTP request that walks the whole filter chain
// (authentication, audit, authorization, admission, validation) in
// process, without a socket or TLS. kube-apiserver's own loopback client
// and kube-controller-manager's clients do the same work over the
// network.
//
// Each identity gets a random bearer token that lives as long as the
// process; the loopback authenticator maps it back to the user. A token
// never leaves the process, and is useless to anyone else: it is checked
// only on requests that the loopback transport itself made.
type loopback struct {
	handler http.Handler

	mu     sync.RWMutex
	tokens map[string]*request.User
}

func newLoopback() *loopback { return &loopback{tokens: map[string]*request.User{}} }

// APIServerUser is who kube-apiserver's own loops are: its loopback
// client's user, a member of system:masters.
var APIServerUser = &request.User{Name: "system:apiserver", Groups: []string{"system:authenticated", "system:masters"}}

// ServiceAccountUser is the user of a service-account token of
// namespace/name, as kube-controller-manager's controllers run with
// --use-service-account-credentials.
func ServiceAccountUser(namespace, name string) *request.User {
	return &request.User{Name: "system:serviceaccount:" + namespace + ":" + name,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}}
}

// Config returns a client configuration that acts as u. The server's
// handler must be set before the configuration is used.
func (l *loopback) Config(u *request.User) *rest.Config {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	token := "kapi-loopback-" + hex.EncodeToString(b)
	l.mu.Lock()
	l.tokens[token] = u
	l.mu.Unlock()
	return &rest.Config{
		Host:        "http://kapi.loopback",
		BearerToken: token,
		UserAgent:   "kapi/" + u.Name,
		QPS:         -1, // the server's own loops are not throttled on the client side
		Transport:   loopbackTransport{l},
	}
}

// AuthenticateRequest recognises the loopback tokens, on requests that
// did not come over the network.
func (l *loopback) AuthenticateRequest(r *http.Request) (*request.User, bool, error) {
	if r.RemoteAddr != loopbackAddr {
		return nil, false, nil
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !strings.HasPrefix(token, "kapi-loopback-") {
		return nil, false, nil
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	for t, u := range l.tokens {
		if subtle.ConstantTimeCompare([]byte(t), []byte(token)) == 1 {
			return u, true, nil
		}
	}
	return nil, false, nil
}

// loopbackAddr is the remote address of loopback requests: no network
// request has it (a real one always has a port), so the authenticator can
// tell them apart.
const loopbackAddr = "loopback"

// loopbackTransport serves a request with the server's handler. The
// answer of a watch is streamed (client-go informers over the loopback,
// as API Priority and Fairness's config controller); any other is
// recorded and returned whole, without a goroutine or a pipe.
type loopbackTransport struct{ l *loopback }

func (t loopbackTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.RemoteAddr = loopbackAddr
	r.RequestURI = r.URL.RequestURI()
	if r.Body == nil {
		r.Body = http.NoBody
	}
	if w := r.URL.Query().Get("watch"); w == "true" || w == "1" {
		return t.stream(r), nil
	}
	w := &recorder{header: http.Header{}, code: http.StatusOK}
	t.l.handler.ServeHTTP(w, r)
	return &http.Response{
		Status: http.StatusText(w.code), StatusCode: w.code, Header: w.header,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Body: io.NopCloser(bytes.NewReader(w.body.Bytes())), ContentLength: int64(w.body.Len()), Request: r,
	}, nil
}

// recorder is the http.ResponseWriter of a loopback request.
type recorder struct {
	header http.Header
	code   int
	wrote  bool
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
}

func (w *recorder) Write(b []byte) (int, error) {
	w.wrote = true
	return w.body.Write(b)
}

// stream serves r in a goroutine and returns the answer once its header
// is written; the body follows through a pipe until the handler returns.
// Closing the body cancels the request, as a client going away does.
func (t loopbackTransport) stream(r *http.Request) *http.Response {
	ctx, cancel := context.WithCancel(r.Context())
	r = r.WithContext(ctx)
	pr, pw := io.Pipe()
	w := &streamWriter{header: http.Header{}, code: http.StatusOK, pw: pw, ready: make(chan struct{})}
	go func() {
		defer pw.Close()
		defer w.commit()
		t.l.handler.ServeHTTP(w, r)
	}()
	<-w.ready
	return &http.Response{
		Status: http.StatusText(w.code), StatusCode: w.code, Header: w.sent, ContentLength: -1,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Body: cancelBody{pr, cancel}, Request: r,
	}
}

// streamWriter is the http.ResponseWriter of a streamed loopback request.
type streamWriter struct {
	header http.Header
	code   int
	pw     *io.PipeWriter
	once   sync.Once
	ready  chan struct{}
	sent   http.Header // the header as committed
}

func (w *streamWriter) Header() http.Header { return w.header }

// commit sends the status and a copy of the header, once.
func (w *streamWriter) commit() {
	w.once.Do(func() {
		w.sent = w.header.Clone()
		close(w.ready)
	})
}

func (w *streamWriter) WriteHeader(code int) {
	select {
	case <-w.ready:
	default:
		w.code = code
		w.commit()
	}
}

func (w *streamWriter) Write(b []byte) (int, error) {
	w.commit()
	return w.pw.Write(b)
}

func (w *streamWriter) Flush() { w.commit() }

// cancelBody cancels the request when the client closes the body.
type cancelBody struct {
	*io.PipeReader
	cancel context.CancelFunc
}

func (b cancelBody) Close() error {
	b.cancel()
	return b.PipeReader.Close()
}
