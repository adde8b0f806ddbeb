package proxy

import (
	"context"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Objects reads what a target is resolved from (Services,
// EndpointSlices, Pods): kapi's stores, through their watch caches, as
// the server provides them. What it returns may be the cache's own
// objects: the proxy reads them and never changes them.
type Objects interface {
	Get(ctx context.Context, gvr schema.GroupVersionResource, ns, name string) (runtime.Object, error)
	List(ctx context.Context, gvr schema.GroupVersionResource, ns string, opts *metav1.ListOptions) (runtime.Object, error)
}

// SliceReader is what Services reads a Service's EndpointSlices with
// when its Objects has it: the slices in ns that sel (the parsed
// kubernetes.io/service-name=<name>) selects, the cache's own objects
// rather than a list of copies, no selector text parsed. A proxied
// request reads them every time, and List was a good part of its cost.
type SliceReader interface {
	EndpointSlices(ctx context.Context, ns string, sel labels.Selector) ([]*discoveryv1.EndpointSlice, error)
}

var (
	servicesGVR       = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	podsGVR           = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	endpointSlicesGVR = schema.GroupVersionResource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"}
)
