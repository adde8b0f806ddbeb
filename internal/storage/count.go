package storage

import "context"

// Counter is a storage that counts its objects without reading them all
// out (apiserver_storage_objects): the watch cache from memory, etcd
// with a count-only range.
type Counter interface {
	Count(ctx context.Context) (int64, error)
}
