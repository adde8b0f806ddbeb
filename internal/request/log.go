package request

import (
	"context"
	"sync"
)

// Log is the request's log line in the making: each filter adds what it
// decided (authn=..., authz=..., audit=...), and the outermost filter
// writes the line when the request ends.
type Log struct {
	mu     sync.Mutex
	fields []string // key, value, key, value, ...
}

// Add records key=value on the request's log line.
func (l *Log) Add(key, value string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.fields = append(l.fields, key, value)
	l.mu.Unlock()
}

// Fields returns the recorded key/value pairs, in order.
func (l *Log) Fields() []string {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.fields...)
}

type logKey struct{}

// WithLog returns a context that carries l.
func WithLog(ctx context.Context, l *Log) context.Context {
	return context.WithValue(ctx, logKey{}, l)
}

// LogFrom returns the request's Log; nil (on which Add does nothing) when
// there is none.
func LogFrom(ctx context.Context) *Log {
	l, _ := ctx.Value(logKey{}).(*Log)
	return l
}
