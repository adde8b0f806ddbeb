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
