package server

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
	"kapi/internal/storage"
)

// bootstrapBatch is how many objects one transaction of the first start
// writes: etcd's default --max-txn-ops is 128.
const bootstrapBatch = 128

// newObject is an object a first start writes into st; stored, when
// set, adjusts it once prepared as a create prepares it (a status the
// object's controller would write a moment later).
type newObject struct {
	st     *registry.Store
	obj    runtime.Object
	stored func(runtime.Object)
}

// createAllNew writes objects of one or more kinds in as few etcd
// transactions as it can, each object prepared and validated as a
// create would (a dry run of its store), when none of them is stored
// yet: a first start writes its built-in objects at once rather than one
// request at a time. It reports false, having written nothing, when one
// exists already (a restart, or another replica was quicker): the caller
// then goes object by object. Every transaction holds objects of every
// kind, so that each kind's watch cache is current with the last one
// without waiting for etcd's progress notification.
func createAllNew(ctx context.Context, kinds ...[]newObject) (bool, error) {
	total := 0
	for _, k := range kinds {
		total += len(k)
	}
	if total == 0 {
		return true, nil
	}
	n := (total + bootstrapBatch - 1) / bootstrapBatch
	batches := make([][]storage.Charge, n)
	firsts := make([]newObject, n)
	for _, k := range kinds {
		for i, it := range k {
			b := i % n
			m, err := meta.Accessor(it.obj)
			if err != nil {
				return false, err
			}
			ns, name := m.GetNamespace(), m.GetName()
			prepared, err := it.st.Create(ctx, ns, it.obj, nil, true)
			if err != nil {
				return false, err
			}
			if it.stored != nil {
				it.stored(prepared)
			}
			if conv := it.st.R.Convert; conv != nil {
				if prepared, err = conv.ToStorage(prepared); err != nil {
					return false, err
				}
			}
			pm, _ := meta.Accessor(prepared)
			pm.SetResourceVersion("0") // compared as "not stored yet"
			key := name
			if it.st.R.Namespaced {
				key = ns + "/" + name
			}
			if firsts[b].st == nil {
				pm.SetResourceVersion("")
				firsts[b] = newObject{st: it.st, obj: prepared}
				batches[b] = append(batches[b], storage.Charge{Key: key})
				continue
			}
			c, err := it.st.Storage.Charge(key, prepared)
			if err != nil {
				return false, err
			}
			batches[b] = append(batches[b], c)
		}
	}
	for b, charges := range batches {
		first := firsts[b]
		_, err := first.st.Storage.Create(ctx, charges[0].Key, first.obj, charges[1:]...)
		if storage.HasCode(err, storage.CodeAlreadyExists) || storage.HasCode(err, storage.CodeStaleCharge) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
	return true, nil
}
