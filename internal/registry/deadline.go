package registry

import (
	"context"
	"errors"
	"time"

	"kapi/internal/storage"
)

// storageContext is the context of a storage call made for a request: it
// ends a moment before the request's own deadline (a tenth of the time
// left, at most a second). When etcd cannot answer (no quorum, every
// member down, the network between lost), the request is then answered by
// the registry with a 504 that names etcd (a read's with Retry-After; a
// write's without, its outcome unknown), rather than by the timeout
// filter's 504, which names nothing and, as kube-apiserver's, has no
// Retry-After. Admission, which runs inside a write's storage call, keeps
// the request's context.
func storageContext(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	margin := min(time.Until(dl)/10, time.Second)
	return context.WithDeadline(ctx, dl.Add(-margin))
}

// callError is the Status error of err, from a storage call with context
// sctx. The watch cache waiting for etcd's revision ends with the
// context's own error when sctx ends: etcd did not answer in time.
func (st *Store) callError(sctx context.Context, err error, name string, write bool) error {
	if errors.Is(err, context.DeadlineExceeded) && sctx.Err() != nil {
		var se *storage.Error
		if !errors.As(err, &se) {
			code := storage.CodeTimeout
			if write {
				code = storage.CodeWriteUnknown
			}
			err = &storage.Error{Code: code, Msg: "etcd did not answer in time: " + err.Error()}
		}
	}
	return st.storageError(err, name)
}
