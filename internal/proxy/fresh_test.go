package proxy

import (
	"context"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// view is one way of reading the objects: a cache (cached) or the
// objects as they are now (now). Both count their reads.
type view struct {
	objs  map[string]runtime.Object // "resource/name"
	reads *int
	now   *view // nil: this view is the consistent one
}

func (v *view) Get(_ context.Context, gvr schema.GroupVersionResource, _, name string) (runtime.Object, error) {
	*v.reads++
	if o, ok := v.objs[gvr.Resource+"/"+name]; ok {
		return o, nil
	}
	return nil, apierrors.NewNotFound(gvr.GroupResource(), name)
}

func (v *view) EndpointSlices(_ context.Context, _ string, sel labels.Selector) ([]*discoveryv1.EndpointSlice, error) {
	*v.reads++
	var out []*discoveryv1.EndpointSlice
	for _, o := range v.objs {
		if es, ok := o.(*discoveryv1.EndpointSlice); ok && sel.Matches(labels.Set(es.Labels)) {
			out = append(out, es)
		}
	}
	return out, nil
}

func (v *view) Consistent() Objects {
	if v.now == nil {
		return v
	}
	return v.now
}

// views are a cache holding cached and the objects now holding now.
func views(cached, now []runtime.Object) (c *view, cachedReads, nowReads *int) {
	cachedReads, nowReads = new(int), new(int)
	index := func(objs []runtime.Object) map[string]runtime.Object {
		m := map[string]runtime.Object{}
		for _, o := range objs {
			switch o := o.(type) {
			case *corev1.Pod:
				m["pods/"+o.Name] = o
			case *corev1.Service:
				m["services/"+o.Name] = o
			case *discoveryv1.EndpointSlice:
				m["endpointslices/"+o.Name] = o
			}
		}
		return m
	}
	n := &view{objs: index(now), reads: nowReads}
	return &view{objs: index(cached), reads: cachedReads, now: n}, cachedReads, nowReads
}

func testPod(ip string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}}}}
	p.Status.PodIP = ip
	return p
}

func testService(ports ...int32) *corev1.Service {
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}}
	for _, p := range ports {
		s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Port: p})
	}
	return s
}

func testSlice(addr string, ready bool) *discoveryv1.EndpointSlice {
	port := int32(8080)
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		Ports:      []discoveryv1.EndpointPort{{Port: &port}},
		Endpoints:  []discoveryv1.Endpoint{{Addresses: []string{addr}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
	}
}

// TestFreshResolution: a target the cache cannot give (a Pod read before
// its IP was set, a Service before its port or ready endpoint, either
// before it was created) is resolved from the objects as they are now;
// one the cache gives costs no second read; and one neither gives is
// kube's answer, unwrapped.
func TestFreshResolution(t *testing.T) {
	type resolve func(Objects) (string, error)
	podLoc := func(objs Objects) (string, error) {
		u, err := (&Pods{Objects: objs}).Location(context.Background(), "ns", "web")
		if err != nil {
			return "", err
		}
		return u.String(), nil
	}
	svcLoc := func(objs Objects) (string, error) {
		u, err := (&Services{Objects: objs}).Location(context.Background(), "ns", "web:80")
		if err != nil {
			return "", err
		}
		return u.String(), nil
	}
	svcEndpoint := func(objs Objects) (string, error) {
		return (&Services{Objects: objs}).Endpoint(context.Background(), "ns", "web", 80)
	}
	for _, tc := range []struct {
		name        string
		resolve     resolve
		cached, now []runtime.Object
		want        string // a URL or host:port, or the error's text
		code        int32  // the error's HTTP code, 0 for a plain error or none
		nowReads    bool   // whether the objects as they are now are read
	}{
		{name: "pod without its IP yet", resolve: podLoc, cached: []runtime.Object{testPod("")}, now: []runtime.Object{testPod("10.1.2.3")},
			want: "http://10.1.2.3:8080", nowReads: true},
		{name: "pod not in the cache yet", resolve: podLoc, now: []runtime.Object{testPod("10.1.2.3")},
			want: "http://10.1.2.3:8080", nowReads: true},
		{name: "pod in the cache", resolve: podLoc, cached: []runtime.Object{testPod("10.1.2.3")}, now: []runtime.Object{testPod("10.9.9.9")},
			want: "http://10.1.2.3:8080"},
		{name: "pod without an IP", resolve: podLoc, cached: []runtime.Object{testPod("")}, now: []runtime.Object{testPod("")},
			want: addressNotAllowed, code: http.StatusBadRequest, nowReads: true},
		{name: "no pod", resolve: podLoc,
			want: `pods "web" not found`, code: http.StatusNotFound, nowReads: true},
		{name: "service without endpoints yet", resolve: svcLoc,
			cached: []runtime.Object{testService(80)}, now: []runtime.Object{testService(80), testSlice("10.1.2.3", true)},
			want: "http://10.1.2.3:8080", nowReads: true},
		{name: "service endpoint not ready yet", resolve: svcLoc,
			cached: []runtime.Object{testService(80), testSlice("10.1.2.3", false)}, now: []runtime.Object{testService(80), testSlice("10.1.2.3", true)},
			want: "http://10.1.2.3:8080", nowReads: true},
		{name: "service without its port yet", resolve: svcLoc,
			cached: []runtime.Object{testService(81), testSlice("10.1.2.3", true)}, now: []runtime.Object{testService(80), testSlice("10.1.2.3", true)},
			want: "http://10.1.2.3:8080", nowReads: true},
		{name: "service ready in the cache", resolve: svcLoc,
			cached: []runtime.Object{testService(80), testSlice("10.1.2.3", true)},
			want:   "http://10.1.2.3:8080"},
		{name: "service without endpoints", resolve: svcLoc,
			cached: []runtime.Object{testService(80)}, now: []runtime.Object{testService(80)},
			want: `no endpoints available for service "web"`, code: http.StatusServiceUnavailable, nowReads: true},
		{name: "service endpoint for a webhook not ready yet", resolve: svcEndpoint,
			cached: []runtime.Object{testService(80), testSlice("10.1.2.3", false)}, now: []runtime.Object{testService(80), testSlice("10.1.2.3", true)},
			want: "10.1.2.3:8080", nowReads: true},
		{name: "service endpoint for a webhook not created yet", resolve: svcEndpoint,
			now:  []runtime.Object{testService(80), testSlice("10.1.2.3", true)},
			want: "10.1.2.3:8080", nowReads: true},
		{name: "service port missing for a webhook", resolve: svcEndpoint,
			cached: []runtime.Object{testService(81), testSlice("10.1.2.3", true)}, now: []runtime.Object{testService(81), testSlice("10.1.2.3", true)},
			want: `no service port 80 found for service "web"`, nowReads: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, _, nowReads := views(tc.cached, tc.now)
			got, err := tc.resolve(objs)
			if err != nil {
				got = err.Error()
				var code int32
				if s, ok := err.(apierrors.APIStatus); ok {
					code = s.Status().Code
				}
				if code != tc.code {
					t.Errorf("error %q (%T) has code %d, want %d", err, err, code, tc.code)
				}
			} else if tc.code != 0 {
				t.Errorf("no error, want one of code %d", tc.code)
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if read := *nowReads > 0; read != tc.nowReads {
				t.Errorf("the objects as they are now read %d times; want read: %v", *nowReads, tc.nowReads)
			}
		})
	}
}
