package cacher

import (
	"context"
	"errors"

	"kapi/internal/storage"
)

// Count is the number of objects in the cache once it is filled, and
// etcd's count before.
func (c *Cacher) Count(ctx context.Context) (int64, error) {
	c.mu.RLock()
	ready, n := c.ready, c.items.Len()
	c.mu.RUnlock()
	if ready {
		return int64(n), nil
	}
	if counter, ok := c.backend.(storage.Counter); ok {
		return counter.Count(ctx)
	}
	return 0, errors.New("the cache is not filled yet")
}

// Size is what the resource's values take in etcd, as the cache's watch
// adds them up: its initial values, moved by every change since; false
// until the cache is filled.
func (c *Cacher) Size() (int64, bool) {
	c.mu.RLock()
	ready := c.ready
	c.mu.RUnlock()
	return c.bytes.Load(), ready
}
