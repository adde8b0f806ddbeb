package endpoints

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"kapi/internal/metrics"
	"kapi/internal/request"
)

// TestRecordBodySize: a body read whole is observed by the request's
// group, resource (a subresource's is its resource's) and kube's verb;
// reads are not.
func TestRecordBodySize(t *testing.T) {
	observations := func(o prometheus.Observer) uint64 {
		var m dto.Metric
		if err := o.(prometheus.Metric).Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetHistogram().GetSampleCount()
	}
	for _, c := range []struct{ method, path, verb string }{
		{"POST", "/apis/bodies.io/v1/namespaces/ns/widgets", "create"},
		{"PUT", "/apis/bodies.io/v1/namespaces/ns/widgets/w/status", "update"},
		{"PATCH", "/apis/bodies.io/v1/namespaces/ns/widgets/w/scale", "patch"},
		{"DELETE", "/apis/bodies.io/v1/namespaces/ns/widgets/w", "delete"},
		{"DELETE", "/apis/bodies.io/v1/namespaces/ns/widgets", "delete_collection"},
	} {
		h := requestBodySizes.WithLabelValues("bodies.io", "widgets", c.verb)
		before := observations(h)
		r := httptest.NewRequest(c.method, c.path, strings.NewReader("{}"))
		r = r.WithContext(request.WithInfo(r.Context(), request.Parse(r)))
		if _, err := readBody(r); err != nil {
			t.Fatal(err)
		}
		if got := observations(h) - before; got != 1 {
			t.Errorf("%s %s: %d observations of %q", c.method, c.path, got, c.verb)
		}
	}
	r := httptest.NewRequest("GET", "/apis/bodies.io/v1/namespaces/ns/readonlies", nil)
	r = r.WithContext(request.WithInfo(r.Context(), request.Parse(r)))
	if _, err := readBody(r); err != nil {
		t.Fatal(err)
	}
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if f.GetName() == "apiserver_request_body_size_bytes" && l.GetValue() == "readonlies" {
					t.Errorf("the body of a get is observed: %v", m.Label)
				}
			}
		}
	}
}

func TestIsInitialEventsEnd(t *testing.T) {
	end := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{metav1.InitialEventsAnnotationKey: "true"}}}
	for _, c := range []struct {
		ev   watch.Event
		want bool
	}{
		{watch.Event{Type: watch.Bookmark, Object: end}, true},
		{watch.Event{Type: watch.Bookmark, Object: &metav1.PartialObjectMetadata{}}, false},
		{watch.Event{Type: watch.Added, Object: end}, false},
	} {
		if got := isInitialEventsEnd(c.ev); got != c.want {
			t.Errorf("%s %v: %v", c.ev.Type, c.ev.Object.(*metav1.PartialObjectMetadata).Annotations, got)
		}
	}
}

// TestListScope is kube's CleanListScope.
func TestListScope(t *testing.T) {
	for _, c := range []struct{ path, selector, want string }{
		{"/api/v1/pods", "", "cluster"},
		{"/api/v1/namespaces/ns/pods", "", "namespace"},
		{"/api/v1/pods", "metadata.namespace=ns", "namespace"},
		{"/api/v1/namespaces/ns/pods", "metadata.name=p", "resource"},
		{"/api/v1/pods", "spec.nodeName=n", "cluster"},
	} {
		r := httptest.NewRequest("GET", c.path, nil)
		if got := listScope(request.Parse(r), c.selector); got != c.want {
			t.Errorf("%s %q: %q, want %q", c.path, c.selector, got, c.want)
		}
	}
}
