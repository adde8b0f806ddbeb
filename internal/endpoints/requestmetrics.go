package endpoints

import (
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"kapi/internal/metrics"
	"kapi/internal/request"
	"kapi/internal/storage"
)

// kube-apiserver's metrics of what the verb handlers read and write: the
// size of request bodies (k8s.io/apiserver/pkg/endpoints/handlers/metrics)
// and how long a watch list takes to send its initial events
// (k8s.io/apiserver/pkg/endpoints/metrics).
var (
	requestBodySizes = metrics.Histogram("apiserver_request_body_size_bytes",
		"[ALPHA] Apiserver request body size in bytes broken out by resource and verb.",
		linearBuckets(50000, 100000, 31), "group", "resource", "verb")
	watchListLatencies = metrics.Histogram("apiserver_watch_list_duration_seconds",
		"[BETA] Response latency distribution in seconds for watch list requests broken by group, version, resource and scope.",
		[]float64{0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300},
		"group", "version", "resource", "scope")
)

func linearBuckets(start, width float64, count int) []float64 {
	b := make([]float64, count)
	for i := range b {
		b[i] = start + float64(i)*width
	}
	return b
}

// bodyVerbs are the verb labels of the request bodies kube-apiserver
// measures, by request verb.
var bodyVerbs = map[string]string{"create": "create", "update": "update", "patch": "patch", "delete": "delete",
	"deletecollection": "delete_collection"}

// recordBodySize observes the size of a body read whole, with the group
// and resource of the request (a subresource's is its resource's: a
// scale patch is a "patch" of deployments).
func recordBodySize(r *http.Request, size int) {
	info := request.InfoFrom(r.Context())
	if info == nil || !info.IsResourceRequest {
		return
	}
	if verb, ok := bodyVerbs[info.Verb]; ok {
		requestBodySizes.WithLabelValues(info.APIGroup, info.Resource, verb).Observe(float64(size))
	}
}

// isInitialEventsEnd reports whether ev is the bookmark that ends a watch
// list's initial events (annotated k8s.io/initial-events-end).
func isInitialEventsEnd(ev watch.Event) bool {
	if ev.Type != watch.Bookmark {
		return false
	}
	m, err := meta.Accessor(storage.Unwrap(ev.Object))
	return err == nil && m.GetAnnotations()[metav1.InitialEventsAnnotationKey] == "true"
}

// recordWatchList observes how long a watch list took, from when the
// request came in to the end of its initial events.
func recordWatchList(s *scope, fieldSelector string) {
	if start := s.info.Received; !start.IsZero() {
		watchListLatencies.WithLabelValues(s.store.R.Group, s.info.APIVersion, s.store.R.Name, listScope(s.info, fieldSelector)).
			Observe(time.Since(start).Seconds())
	}
}

// listScope is kube-apiserver's scope label of a list or watch
// (CleanListScope): "resource" when it selects one name, in the path or
// by metadata.name; "namespace" when one namespace, in the path or by
// metadata.namespace; else "cluster".
func listScope(info *request.Info, fieldSelector string) string {
	name, namespace := info.Name, info.Namespace
	if sel, err := fields.ParseSelector(fieldSelector); err == nil {
		if v, ok := sel.RequiresExactMatch("metadata.name"); ok && name == "" {
			name = v
		}
		if v, ok := sel.RequiresExactMatch("metadata.namespace"); ok && namespace == "" {
			namespace = v
		}
	}
	switch {
	case name != "":
		return "resource"
	case namespace != "":
		return "namespace"
	}
	return "cluster"
}
