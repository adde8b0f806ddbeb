package proxy

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Objects reads what a target is resolved from (Services,
// EndpointSlices, Pods): kapi's stores, through their watch caches, as
// the server provides them.
type Objects interface {
	Get(ctx context.Context, gvr schema.GroupVersionResource, ns, name string) (runtime.Object, error)
	List(ctx context.Context, gvr schema.GroupVersionResource, ns string, opts *metav1.ListOptions) (runtime.Object, error)
}

var (
	servicesGVR       = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	podsGVR           = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	endpointSlicesGVR = schema.GroupVersionResource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"}
)
