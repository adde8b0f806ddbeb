package storage

import "context"

// Counter is a storage that counts its objects without reading them all
// out (apiserver_storage_objects): the watch cache from memory, etcd
// with a count-only range.
type Counter interface {
	Count(ctx context.Context) (int64, error)
}

// Sizer is a storage that knows how many bytes its objects take in etcd
// (kube's apiserver_resource_size_estimate_bytes): the watch cache, which
// adds up the values its watch of etcd has seen, as etcd holds them
// (encrypted, when they are).
type Sizer interface {
	// Size is the bytes stored, and false when the storage does not know
	// them now (a cache not yet filled).
	Size() (int64, bool)
}
