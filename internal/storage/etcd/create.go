package etcd

import (
	"context"
	"fmt"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/storage"
)

// Create writes obj at key in one transaction that succeeds only if the key
// has never been written since it was last deleted (mod_revision == 0).
func (s *Store) Create(ctx context.Context, key string, obj runtime.Object, charges ...storage.Charge) (runtime.Object, error) {
	ctx, span := s.startSpan(ctx, "Create etcd3", key)
	defer span.End()
	data, err := s.encode(obj)
	if err != nil {
		return nil, err
	}
	k := s.key(key)
	stored, err := s.seal(ctx, k, data)
	if err != nil {
		return nil, err
	}
	if len(stored) > maxObjectSize {
		return nil, tooLarge(key, len(stored))
	}
	put, err := s.putOptions(ctx)
	if err != nil {
		return nil, err
	}
	ifs, thens := chargeOps(charges)
	txn := s.client.Txn(ctx).
		If(append([]clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(k), "=", 0)}, ifs...)...).
		Then(append([]clientv3.Op{clientv3.OpPut(k, string(stored), put...)}, thens...)...)
	if len(charges) > 0 {
		txn = txn.Else(clientv3.OpGet(k, clientv3.WithKeysOnly()))
	}
	start := time.Now()
	resp, err := txn.Commit()
	err = s.observe(opCreate, start, err)
	if kv := s.appliedAnyway(ctx, err, k, stored); kv != nil {
		return s.decodeWritten(data, kv.ModRevision)
	}
	if err != nil {
		return nil, err
	}
	if !resp.Succeeded {
		if len(charges) > 0 && len(resp.Responses[0].GetResponseRange().Kvs) == 0 {
			return nil, &storage.Error{Code: storage.CodeStaleCharge, Key: key}
		}
		return nil, &storage.Error{Code: storage.CodeAlreadyExists, Key: key}
	}
	return s.decodeWritten(data, resp.Header.Revision)
}

// Charge encodes obj for a write at key in another write's transaction,
// compared at obj's resourceVersion.
func (s *Store) Charge(key string, obj runtime.Object) (storage.Charge, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return storage.Charge{}, err
	}
	rev, err := strconv.ParseInt(m.GetResourceVersion(), 10, 64)
	if err != nil {
		return storage.Charge{}, fmt.Errorf("charging %s: resourceVersion %q: %w", key, m.GetResourceVersion(), err)
	}
	obj = obj.DeepCopyObject()
	data, err := s.encode(obj)
	if err != nil {
		return storage.Charge{}, err
	}
	if data, err = s.seal(context.Background(), s.key(key), data); err != nil {
		return storage.Charge{}, err
	}
	return storage.Charge{Key: s.key(key), Rev: rev, Value: data}, nil
}

// chargeOps are the comparisons and puts of charges.
func chargeOps(charges []storage.Charge) ([]clientv3.Cmp, []clientv3.Op) {
	var ifs []clientv3.Cmp
	var thens []clientv3.Op
	for _, c := range charges {
		ifs = append(ifs, clientv3.Compare(clientv3.ModRevision(c.Key), "=", c.Rev))
		thens = append(thens, clientv3.OpPut(c.Key, string(c.Value)))
	}
	return ifs, thens
}
