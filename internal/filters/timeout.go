package filters

import (
	"context"
	"fmt"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/request"
)

// Timeout ends a request that is not long-running after d (or the shorter
// ?timeout= it asks for): the handler's context is cancelled, and the
// client gets 504 with a Status if nothing was written yet. Writes after
// the timeout are dropped, so the handler may finish at its pace without
// touching a finished response. A panic in the handler is raised again
// here, for Recover to answer. A ?timeout= that is not a duration is a
// 400, as kube's WithRequestDeadline answers it, before authentication.
func Timeout(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		handlers := newWorkers(256, 5*time.Second)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isLongRunning(request.InfoFrom(r.Context())) {
				next.ServeHTTP(w, r)
				return
			}
			limit := d
			if v := r.URL.Query().Get("timeout"); v != "" {
				t, err := time.ParseDuration(v)
				if err != nil {
					writeStatus(w, r, http.StatusBadRequest, metav1.StatusReasonBadRequest,
						"invalid timeout specified in the request URL - "+err.Error())
					return
				}
				if t > 0 && t < limit {
					limit = t
				}
			}
			if limit <= 0 {
				next.ServeHTTP(w, r)
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), limit)
			defer cancel()
			tw := &timeoutWriter{w: w, h: w.Header().Clone(), ctx: ctx}
			done := make(chan any, 1)
			handlers.run(func() {
				defer func() {
					v := recover()
					if v != nil && v != http.ErrAbortHandler {
						// As kube's timeout filter: the panic goes on in the
						// filter's goroutine, so its stack is kept with it.
						v = fmt.Sprintf("%v\n%s", v, debug.Stack())
					}
					done <- v
				}()
				next.ServeHTTP(tw, r.WithContext(ctx))
			})
			select {
			case v := <-done:
				if v != nil {
					panic(v)
				}
				if ctx.Err() == nil || !tw.timeOut() {
					return
				}
			case <-ctx.Done():
				if !tw.timeOut() {
					return
				}
			}
			// The deadline passed before anything was written.
			filterOutcomes.WithLabelValues("timeout", "timedout").Inc()
			recordTermination(r, request.InfoFrom(r.Context()), http.StatusGatewayTimeout)
			request.LogFrom(r.Context()).Add("timeout", limit.String())
			writeStatus(w, r, http.StatusGatewayTimeout, "Timeout",
				"Timeout: request did not complete within requested timeout - "+context.DeadlineExceeded.Error())
		})
	}
}

// timeoutWriter passes writes through until the timeout, and none after.
// The handler sets headers on a map of its own, copied to the response
// when it writes, so that the 504 written on timeout never races with it.
type timeoutWriter struct {
	mu       sync.Mutex
	ctx      context.Context
	w        http.ResponseWriter
	h        http.Header
	wrote    bool
	timedOut bool
}

func (t *timeoutWriter) Header() http.Header { return t.h }

func (t *timeoutWriter) WriteHeader(code int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.late() || t.wrote {
		return
	}
	t.writeHeader(code)
}

// writeHeader copies the handler's headers and writes the status; mu held.
func (t *timeoutWriter) writeHeader(code int) {
	t.wrote = true
	dst := t.w.Header()
	for k := range dst {
		if _, ok := t.h[k]; !ok {
			delete(dst, k)
		}
	}
	for k, v := range t.h {
		dst[k] = v
	}
	t.w.WriteHeader(code)
}

func (t *timeoutWriter) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.late() {
		return 0, http.ErrHandlerTimeout
	}
	if !t.wrote {
		t.writeHeader(http.StatusOK)
	}
	return t.w.Write(b)
}

func (t *timeoutWriter) Flush() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if f, ok := t.w.(http.Flusher); ok && !t.timedOut {
		f.Flush()
	}
}

// late reports whether the deadline has passed with nothing written: the
// response is then the 504, whoever gets there first. mu held.
func (t *timeoutWriter) late() bool {
	if !t.wrote && t.ctx.Err() != nil {
		t.timedOut = true
	}
	return t.timedOut
}

// timeOut marks the response finished; it reports whether nothing had
// been written, so that the 504 can still be.
func (t *timeoutWriter) timeOut() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.timedOut = true
	return !t.wrote
}
