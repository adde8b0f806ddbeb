// Package etcd implements storage.Interface on an etcd v3 cluster: one
// Store per resource, one small file per operation (after k3s-io/kine).
package etcd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/storage/value"

	"kapi/internal/storage"
)

// Codec encodes objects of one kind for etcd: protobuf for built-in types,
// JSON for custom resources.
type Codec struct {
	// Serializer writes objects, and reads them unless Decoder is set.
	Serializer runtime.Serializer
	// Decoder, when set, reads objects: one that recognizes every format
	// kapi may have written (a changed --storage-media-type).
	Decoder runtime.Decoder
	GVK     schema.GroupVersionKind
	New     func() runtime.Object
	// Decoded, when set, finishes every object read (a custom resource
	// gets its schema's defaults, a built-in kind its kind's), once per
	// revision read. It is not run on what a write returns: the registry
	// finished that object before writing it, and Decoded on a finished
	// object changes nothing.
	Decoded func(runtime.Object) error
	// Transformer, when set, is what values pass through on their way to
	// and from etcd: encryption at rest (--encryption-provider-config),
	// kube's value.Transformer, with the full etcd key as the
	// authenticated data, as kube-apiserver's. nil stores values as they
	// are encoded.
	Transformer value.Transformer
}

// Store keeps the objects of one resource below Root,
// e.g. "/registry/configmaps/".
type Store struct {
	client *clientv3.Client
	root   string
	codec  Codec
	// pagingBatch is how many keys a filtered list reads per round trip;
	// fullBatch how many a whole list (no limit) reads, the next round
	// trip made while the keys of one are decoded.
	pagingBatch, fullBatch int64
	// metrics are the store's series (SetResource); nil records nothing.
	metrics *storeMetrics
	// apiVersion is the stored kind's, as a protobuf envelope names it.
	apiVersion string
	// leases expire what the store writes (Expire); nil keeps it.
	leases *leases
}

var _ storage.Interface = (*Store)(nil)

// New returns a Store for the objects below root (which ends in "/").
func New(client *clientv3.Client, root string, codec Codec) *Store {
	if !strings.HasSuffix(root, "/") {
		root += "/"
	}
	return &Store{client: client, root: root, codec: codec, pagingBatch: 500, fullBatch: 2000,
		apiVersion: codec.GVK.GroupVersion().String()}
}

func (s *Store) key(k string) string { return s.root + k }

// encode writes obj without its resourceVersion, which etcd keeps as the
// key's mod_revision.
func (s *Store) encode(obj runtime.Object) ([]byte, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	m.SetResourceVersion("")
	setKind(obj, s.codec.GVK)
	var buf bytes.Buffer
	if err := s.codec.Serializer.Encode(obj, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// unavailable turns etcd's answers that it cannot serve now (a request
// timed out inside etcd, no leader, a leader change, no member reachable)
// into storage errors: a read is worth trying again shortly (504 or 503
// with Retry-After); a write's outcome is unknown (etcd may still apply
// it), so it is a 504 without Retry-After, which client-go does not
// retry on its own: a retried create or update whose first attempt was
// applied would answer AlreadyExists or Conflict for a write that
// happened (the fault suite saw both). Other errors pass as they are.
func unavailable(err error, write bool) error {
	code := storage.CodeUnavailable
	switch {
	case err == nil:
		return nil
	case errors.Is(err, rpctypes.ErrTimeout), errors.Is(err, rpctypes.ErrTimeoutDueToLeaderFail),
		errors.Is(err, rpctypes.ErrTimeoutDueToConnectionLost), errors.Is(err, rpctypes.ErrTimeoutWaitAppliedIndex),
		errors.Is(err, context.DeadlineExceeded), grpcstatus.Code(err) == codes.DeadlineExceeded:
		// (A deadline of the request's own has been answered by the
		// timeout filter already; one of kapi's, as the shared revision
		// fetch's, means etcd did not answer in time.)
		code = storage.CodeTimeout
	case errors.Is(err, rpctypes.ErrNoLeader), errors.Is(err, rpctypes.ErrLeaderChanged), errors.Is(err, rpctypes.ErrNotCapable),
		grpcstatus.Code(err) == codes.Unavailable:
	default:
		return err
	}
	if write {
		code = storage.CodeWriteUnknown
	}
	return &storage.Error{Code: code, Msg: "etcd: " + err.Error()}
}

// seal is the value to store at etcd key k for the encoding data.
func (s *Store) seal(ctx context.Context, k string, data []byte) ([]byte, error) {
	if s.codec.Transformer == nil {
		return data, nil
	}
	out, err := s.codec.Transformer.TransformToStorage(ctx, data, value.DefaultContext(k))
	if err != nil {
		return nil, fmt.Errorf("encrypting %s: %w", k, err)
	}
	return out, nil
}

// open is kv with its value as encoded (decrypted), and whether it was
// stored with a key or provider that is no longer the first (kube's
// "stale": an update writes it again even when nothing changed, so that
// rewriting every object moves them to the new key).
func (s *Store) open(ctx context.Context, kv *mvccpb.KeyValue) (*mvccpb.KeyValue, bool, error) {
	if s.codec.Transformer == nil || kv == nil {
		return kv, false, nil
	}
	data, stale, err := s.codec.Transformer.TransformFromStorage(ctx, kv.Value, value.DefaultContext(kv.Key))
	if err != nil {
		return nil, false, fmt.Errorf("decrypting %s: %w", kv.Key, err)
	}
	return &mvccpb.KeyValue{Key: kv.Key, Value: data, CreateRevision: kv.CreateRevision, ModRevision: kv.ModRevision,
		Version: kv.Version, Lease: kv.Lease}, stale, nil
}

// decodeKV decodes a value read from etcd; one that does not decrypt or
// decode is a storage.CorruptError.
func (s *Store) decodeKV(ctx context.Context, kv *mvccpb.KeyValue) (runtime.Object, error) {
	opened, _, err := s.open(ctx, kv)
	if err != nil {
		return nil, storage.CorruptError(string(kv.Key), true, kv.ModRevision, cause(err))
	}
	obj, err := s.decode(opened.Value, opened.ModRevision)
	if err != nil {
		return nil, storage.CorruptError(string(kv.Key), false, kv.ModRevision, cause(err))
	}
	return obj, nil
}

// cause is the error open or decode wrapped (the transformer's, the
// decoder's), as kube-apiserver's messages give it.
func cause(err error) error {
	if inner := errors.Unwrap(err); inner != nil {
		return inner
	}
	return err
}

// decode reads data and sets its resourceVersion to rev.
func (s *Store) decode(data []byte, rev int64) (runtime.Object, error) {
	obj, err := s.decodeWritten(data, rev)
	if err != nil {
		return nil, err
	}
	if s.codec.Decoded != nil {
		if err := s.codec.Decoded(obj); err != nil {
			return nil, fmt.Errorf("decoding stored %s: %w", s.codec.GVK.Kind, err)
		}
	}
	return obj, nil
}

// decodeWritten is decode of what this store has just written, without
// Codec.Decoded. (A write's result is what a client sees at once; for a
// custom resource, Decoded's coercion costs as much as the decode.)
func (s *Store) decodeWritten(data []byte, rev int64) (runtime.Object, error) {
	obj := s.codec.New()
	if !decodeEnvelope(data, s.apiVersion, s.codec.GVK, obj) {
		var err error
		dec := s.codec.Decoder
		if dec == nil {
			dec = s.codec.Serializer
		}
		if obj, _, err = dec.Decode(data, &s.codec.GVK, obj); err != nil {
			return nil, fmt.Errorf("decoding stored %s: %w", s.codec.GVK.Kind, err)
		}
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	m.SetResourceVersion(strconv.FormatInt(rev, 10))
	// Objects read carry their kind, whatever the serializer does: the
	// registry then need not set it on objects shared from the cache.
	setKind(obj, s.codec.GVK)
	return obj, nil
}

// setKind gives obj the stored kind gvk. An unstructured object (a custom
// resource) keeps the version it has: one stored before its CRD's storage
// version changed stays in the version it was written in (the registry
// converts what it writes to the storage version first).
func setKind(obj runtime.Object, gvk schema.GroupVersionKind) {
	if _, ok := obj.(runtime.Unstructured); ok && !obj.GetObjectKind().GroupVersionKind().Empty() {
		return
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
}

// Revision returns etcd's current revision, with one cheap range request.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	start := time.Now()
	resp, err := s.client.Get(ctx, s.root, clientv3.WithCountOnly(), clientv3.WithLimit(1))
	err = s.observe(opRevision, start, err)
	if err != nil {
		return 0, err
	}
	return resp.Header.Revision, nil
}

// maxObjectSize is what etcd accepts in one request by default, less room
// for the key and the transaction around it.
const maxObjectSize = 1536 * 1024

func tooLarge(key string, n int) error {
	return &storage.Error{Code: storage.CodeTooLarge, Key: key,
		Msg: fmt.Sprintf("object is too large to store: %d bytes, limit is %d", n, maxObjectSize)}
}

// RequestProgress asks etcd to tell every watch of this client how far it
// has been delivered (a progress notification on each), so that a watch
// cache learns it is current even when nothing of its own changed.
func (s *Store) RequestProgress(ctx context.Context) error {
	return s.client.RequestProgress(clientv3.WithRequireLeader(ctx))
}
