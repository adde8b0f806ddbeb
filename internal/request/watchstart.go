package request

import "context"

type watchStartedKey struct{}

// WithWatchStarted returns a context whose WatchStarted calls started:
// API Priority and Fairness holds a watch's seats only until the watch is
// established, as kube-apiserver's storage signals its initialization.
func WithWatchStarted(ctx context.Context, started func()) context.Context {
	return context.WithValue(ctx, watchStartedKey{}, started)
}

// WatchStarted tells whoever waits that ctx's watch is established; it
// may be called more than once, and without a waiter does nothing.
func WatchStarted(ctx context.Context) {
	if started, _ := ctx.Value(watchStartedKey{}).(func()); started != nil {
		started()
	}
}
