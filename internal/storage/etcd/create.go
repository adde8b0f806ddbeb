package etcd

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/storage"
)

// Create writes obj at key in one transaction that succeeds only if the key
// has never been written since it was last deleted (mod_revision == 0).
func (s *Store) Create(ctx context.Context, key string, obj runtime.Object) (runtime.Object, error) {
	data, err := s.encode(obj)
	if err != nil {
		return nil, err
	}
	if len(data) > maxObjectSize {
		return nil, tooLarge(key, len(data))
	}
	k := s.key(key)
	resp, err := s.client.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(k), "=", 0)).
		Then(clientv3.OpPut(k, string(data))).
		Commit()
	if err != nil {
		return nil, err
	}
	if !resp.Succeeded {
		return nil, &storage.Error{Code: storage.CodeAlreadyExists, Key: key}
	}
	return s.decodeWritten(data, resp.Header.Revision)
}
