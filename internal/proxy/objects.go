package proxy

import (
	"context"
	"errors"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Getter reads one object: what the kubelet paths read (pods, nodes), as
// the server provides them.
type Getter interface {
	Get(ctx context.Context, gvr schema.GroupVersionResource, ns, name string) (runtime.Object, error)
}

// Objects reads what a target is resolved from (Services,
// EndpointSlices, Pods): kapi's stores, through their watch caches, as
// the server provides them. What it returns may be the cache's own
// objects: the proxy reads them and never changes them.
type Objects interface {
	Getter
	// EndpointSlices are the slices in ns that sel (the parsed
	// kubernetes.io/service-name=<name>) selects: the cache's own
	// objects rather than a list of copies, no selector text parsed. A
	// proxied request reads them every time, and a list was a good part
	// of its cost.
	EndpointSlices(ctx context.Context, ns string, sel labels.Selector) ([]*discoveryv1.EndpointSlice, error)
	// Consistent is the same objects read as they are now (kube's
	// ordinary reads): what a target could not be resolved from in the
	// cache is read again from there (fresh).
	Consistent() Objects
}

// unresolved marks an error that comes from what the objects read say
// (no such Pod or Service, a Pod without an IP, a Service without that
// port or without a ready endpoint): a read of the objects as they are
// now may say otherwise.
type unresolved struct{ error }

func (u unresolved) Unwrap() error { return u.error }

// fresh resolves a target from objs, a cache, and when what the cache
// holds cannot give one, once more from objs.Consistent(): a client
// that just created a Pod, set its IP, or made a Service ready, expects
// the proxy to find it, and the cache may not have it yet. kube-apiserver
// reads every target consistently; kapi pays for that read only when
// the cache's answer fails.
func fresh[T any](objs Objects, resolve func(Objects) (T, error)) (T, error) {
	v, err := resolve(objs)
	if u := (unresolved{}); errors.As(err, &u) {
		v, err = resolve(objs.Consistent())
	}
	if u := (unresolved{}); errors.As(err, &u) {
		err = u.error
	}
	return v, err
}

var (
	servicesGVR = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	podsGVR     = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
)
