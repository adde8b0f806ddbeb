package etcd

import (
	"context"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/storage"
)

// Get reads one object, at the newest revision or exactly at
// opts.ResourceVersion.
func (s *Store) Get(ctx context.Context, key string, opts storage.ReadOptions) (runtime.Object, error) {
	ctx, span := s.startSpan(ctx, "Get etcd3", key)
	defer span.End()
	var ops []clientv3.OpOption
	if opts.Exact && opts.ResourceVersion > 0 {
		ops = append(ops, clientv3.WithRev(opts.ResourceVersion))
	}
	start := time.Now()
	resp, err := s.client.Get(ctx, s.key(key), ops...)
	err = s.observe(opGet, start, err)
	if err != nil {
		return nil, readError(err, opts.ResourceVersion)
	}
	if !opts.Exact && opts.ResourceVersion > resp.Header.Revision {
		return nil, tooNew(opts.ResourceVersion)
	}
	if len(resp.Kvs) == 0 {
		return nil, &storage.Error{Code: storage.CodeNotFound, Key: key}
	}
	return s.decodeKV(ctx, resp.Kvs[0])
}

func tooNew(rv int64) error {
	return &storage.Error{Code: storage.CodeTooLargeResourceVersion,
		Msg: fmt.Sprintf("Too large resource version: %d", rv)}
}

// readError turns etcd's "compacted" and "future revision" answers into
// storage errors.
func readError(err error, rev int64) error {
	switch err {
	case rpctypes.ErrCompacted:
		return &storage.Error{Code: storage.CodeGone,
			Msg: fmt.Sprintf("too old resource version: %d", rev)}
	case rpctypes.ErrFutureRev:
		return tooNew(rev)
	}
	return err
}
