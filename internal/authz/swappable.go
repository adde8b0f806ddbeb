package authz

import (
	"context"
	"sync/atomic"
)

// Swappable is a Union that may be replaced while requests use it: the
// authorizers of an --authorization-config file reloaded when it changes.
// A request reads one union, whole.
type Swappable struct{ p atomic.Pointer[Union] }

// Store makes u the union from now on.
func (s *Swappable) Store(u Union) { s.p.Store(&u) }

// Load is the union in use (nil before the first Store).
func (s *Swappable) Load() Union {
	if u := s.p.Load(); u != nil {
		return *u
	}
	return nil
}

// Authorize implements Authorizer.
func (s *Swappable) Authorize(ctx context.Context, a Attributes) (Decision, string, error) {
	return s.Load().Authorize(ctx, a)
}
