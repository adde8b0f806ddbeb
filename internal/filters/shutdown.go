package filters

import (
	"net/http"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/request"
)

// Shutdown is the server's graceful termination as the filters see it:
// the moment it stops accepting new requests (after
// --shutdown-delay-duration), and the requests that are not long-running
// still in flight, which it waits for.
type Shutdown struct {
	mu           sync.Mutex
	inFlight     int
	notAccepting chan struct{}
	drained      chan struct{}
	stopped      bool
}

// NewShutdown returns a server's, accepting requests.
func NewShutdown() *Shutdown {
	return &Shutdown{notAccepting: make(chan struct{}), drained: make(chan struct{})}
}

// StopAccepting marks the moment the server stops accepting new requests
// (kube's NotAcceptingNewRequest).
func (s *Shutdown) StopAccepting() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	s.stopped = true
	close(s.notAccepting)
	if s.inFlight == 0 {
		close(s.drained)
	}
}

// Drained is closed once the server stopped accepting and its requests
// that are not long-running have ended.
func (s *Shutdown) Drained() <-chan struct{} { return s.drained }

// add counts a request in, unless the server stopped accepting.
func (s *Shutdown) add() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return false
	}
	s.inFlight++
	return true
}

func (s *Shutdown) done() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inFlight--; s.inFlight == 0 && s.stopped {
		close(s.drained)
	}
}

// exemptFromShutdown are the requests a server shutting down still takes
// without counting them, as kube's isRequestExemptFromRetryAfter: the
// health and metrics endpoints, and kapi's own loopback requests (kube's
// are those whose User-Agent starts "kube-apiserver/"; kapi's start
// "kapi/").
func exemptFromShutdown(r *http.Request) bool {
	if strings.HasPrefix(r.UserAgent(), "kapi/") {
		return true
	}
	for _, p := range []string{"/metrics", "/livez", "/readyz", "/healthz"} {
		if strings.HasPrefix(r.URL.Path, p) {
			return true
		}
	}
	return false
}

// WaitGroup counts the requests in flight that are not long-running, so
// that a server shutting down can wait for them, as kube-apiserver's
// WithWaitGroup: once it stops accepting, such a request is refused with
// a 503 "apiserver is shutting down" and Retry-After: 1 (its client tries
// again, perhaps another replica). Watches and the other long-running
// requests are not counted; the server ends them itself.
func WaitGroup(s *Shutdown) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if info := request.InfoFrom(r.Context()); (info != nil && isLongRunning(info)) || exemptFromShutdown(r) {
				h.ServeHTTP(w, r)
				return
			}
			if !s.add() {
				w.Header().Set("Retry-After", "1")
				writeStatus(w, r, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable, "apiserver is shutting down")
				return
			}
			defer s.done()
			h.ServeHTTP(w, r)
		})
	}
}

// RetryAfter answers every new request with a 429, Retry-After: 5 and
// Connection: close once the server stops accepting, as kube-apiserver's
// WithRetryAfter does with --shutdown-send-retry-after: the server then
// keeps listening until its requests in flight have drained, and its
// clients go elsewhere. Its body is kube's, plain text. nil (no filter)
// when s is nil.
func RetryAfter(s *Shutdown) func(http.Handler) http.Handler {
	if s == nil {
		return nil
	}
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-s.notAccepting:
				if !exemptFromShutdown(r) {
					w.Header().Set("Connection", "close")
					w.Header().Set("Retry-After", "5")
					http.Error(w, "The apiserver is shutting down, please try again later.", http.StatusTooManyRequests)
					return
				}
			default:
			}
			h.ServeHTTP(w, r)
		})
	}
}
