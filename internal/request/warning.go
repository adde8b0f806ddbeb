package request

import (
	"context"
	"sync"
)

// warnings collects a request's warnings for its response: admission
// plugins and webhooks add them, possibly from several goroutines at
// once (validating webhooks run in parallel).
type warnings struct {
	mu  sync.Mutex
	add func(string)
}

type warningsKey struct{}

// WithWarnings returns a context whose AddWarning calls add (one call at
// a time).
func WithWarnings(ctx context.Context, add func(text string)) context.Context {
	return context.WithValue(ctx, warningsKey{}, &warnings{add: add})
}

// AddWarning adds a warning to the response of ctx's request. Before the
// handler's sink exists (during authentication) it is kept for
// TakeEarlyWarnings; outside a request (a write from inside kapi) it does
// nothing.
func AddWarning(ctx context.Context, text string) {
	w, _ := ctx.Value(warningsKey{}).(*warnings)
	if w == nil {
		if e := earlyFrom(ctx); e != nil {
			e.mu.Lock()
			e.warnings = append(e.warnings, text)
			e.mu.Unlock()
		}
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.add(text)
}
