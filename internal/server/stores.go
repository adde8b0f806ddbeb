package server

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/klog/v2"

	"kapi/internal/registry"
	"kapi/internal/registry/scheduling"
	"kapi/internal/storage"
	"kapi/internal/storage/cacher"
	"kapi/internal/storage/etcd"
)

type runtimeObject = runtime.Object

// newStores builds a registry store per row, in the etcd cluster of its
// resource (--etcd-servers-overrides). Rows that share a key prefix (one
// resource served in two versions) share one storage. With the watch
// cache, each storage is a cache in front of its etcd store, but for the
// resources --watch-cache-sizes gives a size of 0; stop ends the caches,
// which learn their cluster's compactions.
func newStores(clusters *etcdClusters, cfg Config, rows []*registry.Resource, enc *encryption) (stores []*registry.Store, stop func(), err error) {
	prefix := cfg.EtcdPrefix
	sizes, err := parseWatchCacheSizes(cfg.WatchCacheSizes)
	if err != nil {
		return nil, nil, fmt.Errorf("--watch-cache-sizes: %w", err)
	}
	serializer, err := storageSerializer(cfg)
	if err != nil {
		return nil, nil, err
	}
	// What finishes a key's objects read from etcd: the defaults of the
	// row that serves the stored kind, as kube's storage decoder defaults.
	decoded := map[string]func(runtime.Object) error{}
	for _, r := range rows {
		if d := r.Defaulter(); d != nil {
			decoded[r.Key()] = d
		}
	}
	byKey := map[string]storage.Interface{}
	// A resource served by two groups (events, and events.k8s.io's) is
	// one storage: an override of either moves it.
	keyCluster := map[string]*etcdCluster{}
	for _, r := range rows {
		if o := clusters.overrides[schema.GroupResource{Group: r.Group, Resource: r.Name}]; o != nil {
			keyCluster[r.Key()] = o
		}
	}
	var caches []*cacher.Cacher
	for _, r := range rows {
		s, ok := byKey[r.Key()]
		if !ok {
			gvk := r.StorageGVK()
			newObj := func() runtime.Object { o, _ := registry.Scheme.New(gvk); return o } // the built-in kinds' storage
			gr := schema.GroupResource{Group: r.Group, Resource: r.Name}
			cluster := clusters.main
			if o := keyCluster[r.Key()]; o != nil {
				cluster = o
			}
			es := etcd.New(cluster.client, prefix+"/"+r.Key()+"/", etcd.Codec{Serializer: serializer, Decoder: storageDecoder, GVK: gvk, New: newObj,
				Decoded: decoded[r.Key()], Transformer: enc.For(gr)}).
				SetResource(gr)
			if r.Key() == "events" && cfg.EventTTL > 0 {
				es.Expire(cfg.EventTTL, cfg.LeaseReuse) // as kube's event storage's TTLFunc
			}
			s = es
			size, sized := sizes[gr]
			if sized && size > 0 {
				klog.Warningf("Dropping watch-cache-size for %v - watchCache size is now dynamic", gr)
			}
			if cfg.WatchCache && (!sized || size > 0) {
				c := cacher.New(es, cacher.Options{Name: r.Key(), Resource: gr, New: newObj, Compacted: cluster.compaction.Revision})
				caches = append(caches, c)
				s = c
			}
			byKey[r.Key()] = s
		}
		stores = append(stores, registry.NewStore(r, s))
	}
	return stores, func() {
		for _, c := range caches {
			c.Stop()
		}
	}, nil
}

// parseWatchCacheSizes reads --watch-cache-sizes as kube's
// ParseWatchCacheSizes: resource[.group]#size, each size a number of 0
// or more. Only 0 means anything (no watch cache for the resource); kube
// sizes its caches itself, and so does kapi.
func parseWatchCacheSizes(list []string) (map[schema.GroupResource]int, error) {
	sizes := map[schema.GroupResource]int{}
	for _, c := range list {
		tokens := strings.Split(c, "#")
		if len(tokens) != 2 {
			return nil, fmt.Errorf("invalid value of watch cache size: %s", c)
		}
		size, err := strconv.Atoi(tokens[1])
		if err != nil {
			return nil, fmt.Errorf("invalid size of watch cache size: %s", c)
		}
		if size < 0 {
			return nil, fmt.Errorf("watch cache size cannot be negative: %s", c)
		}
		sizes[schema.ParseGroupResource(tokens[0])] = size
	}
	return sizes, nil
}

// storageMediaTypes are --storage-media-type's values, as kube's.
var storageMediaTypes = []string{runtime.ContentTypeJSON, runtime.ContentTypeProtobuf, runtime.ContentTypeYAML}

// storageSerializer is how built-in objects are written to etcd, as
// kube-apiserver writes them: --storage-media-type, protobuf unless set
// (custom resources are JSON whatever it says, as in kube). Reading takes
// any of the three (storageDecoder), so that what was written before a
// change of it stays readable.
func storageSerializer(cfg Config) (runtime.Serializer, error) {
	mt := cfg.StorageMediaType
	if mt == "" {
		mt = runtime.ContentTypeProtobuf
	}
	if slices.Contains(storageMediaTypes, mt) {
		for _, info := range registry.Codecs.SupportedMediaTypes() {
			if info.MediaType == mt {
				return info.Serializer, nil
			}
		}
	}
	return nil, fmt.Errorf("--storage-media-type %q invalid, allowed values: %s", mt, strings.Join(storageMediaTypes, ", "))
}

// storageDecoder reads what kapi or kube-apiserver wrote, in any of the
// storage media types.
var storageDecoder = registry.Codecs.UniversalDeserializer()

// replaceRow gives the store of group/v1/resource the row change makes of
// its row, on the same storage.
func replaceRow(stores []*registry.Store, group, resource string, change func(*registry.Resource) *registry.Resource) {
	for i, st := range stores {
		if st.R.Group == group && st.R.Version == "v1" && st.R.Name == resource {
			stores[i] = registry.NewStore(change(st.R), st.Storage)
			return
		}
	}
	panic("no store for " + group + "/v1/" + resource)
}

func findStore(stores []*registry.Store, group, version, resource string) *registry.Store {
	gvr := schema.GroupVersionResource{Group: group, Version: version, Resource: resource}
	for _, s := range stores {
		if s.R.GVR() == gvr {
			return s
		}
	}
	panic("no store for " + gvr.String())
}

// bootstrapNamespaces creates the namespaces every cluster has.
func bootstrapNamespaces(ctx context.Context, ns *registry.Store) error {
	for _, name := range []string{metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic, corev1.NamespaceNodeLease} {
		obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if _, err := ns.Create(ctx, "", obj, nil, false); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return nil
}

// bootstrapPriorityClasses creates the system priority classes, as
// kube-apiserver's scheduling/bootstrap-system-priority-classes hook; a
// class that exists is left as it is.
func bootstrapPriorityClasses(ctx context.Context, pcs *registry.Store) error {
	for _, pc := range scheduling.SystemPriorityClasses() {
		if _, err := pcs.Create(ctx, "", pc, nil, false); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating priority class %s: %w", pc.Name, err)
		}
	}
	return nil
}

// customResourceStorage makes the storage of a custom resource: its
// objects as JSON under <prefix>/<key>/ (kube-apiserver's layout, readable
// with etcdctl), decoded into unstructured objects and finished by
// decoded; with the watch cache, a cache in front.
func customResourceStorage(client *clientv3.Client, prefix string, watchCache bool, enc *encryption, compaction *etcd.Compaction) func(string, schema.GroupVersionKind, func() runtime.Object, func(runtime.Object) error) (storage.Interface, func()) {
	jsonInfo, _ := runtime.SerializerInfoForMediaType(registry.Codecs.SupportedMediaTypes(), runtime.ContentTypeJSON)
	jsonSerializer := jsonInfo.Serializer
	return func(key string, gvk schema.GroupVersionKind, newObj func() runtime.Object, decoded func(runtime.Object) error) (storage.Interface, func()) {
		var gr schema.GroupResource
		if group, resource, ok := strings.Cut(key, "/"); ok { // a custom resource's key is <group>/<plural>
			gr = schema.GroupResource{Group: group, Resource: resource}
		}
		es := etcd.New(client, prefix+"/"+key+"/", etcd.Codec{Serializer: jsonSerializer, GVK: gvk, New: newObj, Decoded: decoded, Transformer: enc.For(gr)})
		if gr.Resource != "" {
			es.SetResource(gr)
		}
		if !watchCache {
			return es, func() {}
		}
		c := cacher.New(es, cacher.Options{Name: key, Resource: gr, New: newObj, Compacted: compaction.Revision})
		return c, c.Stop
	}
}

// waitCaches waits until every watch cache has listed and its watch is
// registered with etcd. Writing before then would start the caches'
// watches in the past, which etcd catches up only every 100 ms: the
// start would wait as long for its own writes to reach the caches.
func waitCaches(ctx context.Context, stores []*registry.Store) error {
	seen := map[storage.Interface]bool{}
	for _, st := range stores {
		c, ok := st.Storage.(*cacher.Cacher)
		if !ok || seen[c] {
			continue
		}
		seen[c] = true
		if err := c.Ready(ctx); err != nil {
			return err
		}
	}
	return nil
}
