package etcd

import (
	"bytes"
	"context"
	"errors"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// appliedAnyway tells, after a write answered "database space exceeded",
// whether etcd applied it all the same. etcd answers so both a write it
// refused (its space alarm raised, or the request over its quota before it
// was proposed) and the write that crossed the quota, which its quota
// applier applies first and answers so after: a client told the write
// failed would find it done (the fault suite's TestEtcdSpaceQuota found
// such a create). The value put is unique to the write (a create's new
// uid, an update's new content), so the key holding it says the write was
// applied: appliedAnyway returns the key-value then, nil otherwise (the
// write was refused, or, in a moment between, applied and deleted again:
// writes other than deletes are refused while the alarm is raised).
func (s *Store) appliedAnyway(ctx context.Context, err error, k string, put []byte) *mvccpb.KeyValue {
	if !errors.Is(err, rpctypes.ErrNoSpace) || put == nil {
		return nil
	}
	resp, gerr := s.client.Get(ctx, k)
	if gerr != nil || len(resp.Kvs) != 1 || !bytes.Equal(resp.Kvs[0].Value, put) {
		return nil
	}
	return resp.Kvs[0]
}
