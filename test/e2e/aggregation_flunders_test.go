package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/websocket"
	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	"k8s.io/streaming/pkg/httpstream/wsstream"

	"kapi/internal/server"
)

// flunderServer is the test's extension API server of
// wardle.example.com/v1alpha1: namespaced flunders with list and watch
// (a watch streams the flunders added after it started, over HTTP or,
// as k8s.io/apiserver's watch, over a WebSocket), discovery and OpenAPI
// v2 and v3 documents.
type flunderServer struct {
	mu       sync.Mutex
	rv       int
	flunders []map[string]any
	watchers []chan map[string]any
	// received are the messages WebSocket watchers sent (kube's watch
	// reads and ignores them).
	received []string
}

func (f *flunderServer) add(ns, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rv++
	obj := map[string]any{"apiVersion": "wardle.example.com/v1alpha1", "kind": "Flunder",
		"metadata": map[string]any{"name": name, "namespace": ns, "resourceVersion": fmt.Sprint(f.rv),
			"creationTimestamp": time.Now().UTC().Format(time.RFC3339)}}
	f.flunders = append(f.flunders, obj)
	for _, w := range f.watchers {
		w <- obj
	}
}

func (f *flunderServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const gv = "/apis/wardle.example.com/v1alpha1"
	w.Header().Set("Content-Type", "application/json")
	switch p := r.URL.Path; {
	case p == gv:
		json.NewEncoder(w).Encode(metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
			GroupVersion: "wardle.example.com/v1alpha1", APIResources: []metav1.APIResource{
				{Name: "flunders", SingularName: "flunder", Namespaced: true, Kind: "Flunder", Verbs: []string{"get", "list", "watch"}}}})
	case p == "/openapi/v2":
		io.WriteString(w, `{"swagger":"2.0","info":{"title":"wardle","version":"v1alpha1"},"paths":{"/apis/wardle.example.com/v1alpha1/namespaces/{namespace}/flunders":{"get":{"operationId":"listWardleV1alpha1NamespacedFlunder","responses":{"200":{"description":"OK"}}}}},"definitions":{"com.example.wardle.v1alpha1.Flunder":{"type":"object","description":"a flunder"}}}`)
	case p == "/openapi/v3"+gv:
		io.WriteString(w, `{"openapi":"3.0.0","info":{"title":"wardle","version":"v1alpha1"},"paths":{"/apis/wardle.example.com/v1alpha1/namespaces/{namespace}/flunders":{"get":{"operationId":"listWardleV1alpha1NamespacedFlunder","responses":{"200":{"description":"OK"}}}}}}`)
	case strings.HasPrefix(p, gv+"/") && strings.HasSuffix(p, "/flunders"):
		if r.URL.Query().Get("watch") == "true" {
			if wsstream.IsWebSocketRequest(r) {
				// As k8s.io/apiserver's watch handler: golang.org/x/net's
				// WebSocket server (which refuses a request without Origin).
				websocket.Handler(f.watchWebSocket).ServeHTTP(w, r)
				return
			}
			f.watch(w, r)
			return
		}
		f.mu.Lock()
		list := map[string]any{"apiVersion": "wardle.example.com/v1alpha1", "kind": "FlunderList",
			"metadata": map[string]any{"resourceVersion": fmt.Sprint(f.rv)}, "items": f.flunders}
		b, _ := json.Marshal(list)
		f.mu.Unlock()
		w.Write(b)
	default:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
	}
}

// subscribe registers a watcher of the flunders added from now on, until
// the returned func is called.
func (f *flunderServer) subscribe() (<-chan map[string]any, func()) {
	ch := make(chan map[string]any, 16)
	f.mu.Lock()
	f.watchers = append(f.watchers, ch)
	f.mu.Unlock()
	return ch, func() {
		f.mu.Lock()
		f.watchers = slices.DeleteFunc(f.watchers, func(c chan map[string]any) bool { return c == ch })
		f.mu.Unlock()
	}
}

func (f *flunderServer) watcherCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.watchers)
}

// watch streams an ADDED event per flunder added from now until the
// client goes.
func (f *flunderServer) watch(w http.ResponseWriter, r *http.Request) {
	ch, done := f.subscribe()
	defer done()
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	enc := json.NewEncoder(w)
	for {
		select {
		case <-r.Context().Done():
			return
		case obj := <-ch:
			enc.Encode(map[string]any{"type": "ADDED", "object": obj})
			w.(http.Flusher).Flush()
		}
	}
}

// watchWebSocket is the watch over a WebSocket as k8s.io/apiserver's
// WatchServer.HandleWS serves it: one JSON event per text message, what
// the client sends read (here kept) until it closes, which ends the
// watch.
func (f *flunderServer) watchWebSocket(ws *websocket.Conn) {
	defer ws.Close()
	ch, done := f.subscribe()
	defer done()
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		for {
			var msg string
			if err := websocket.Message.Receive(ws, &msg); err != nil {
				return
			}
			f.mu.Lock()
			f.received = append(f.received, msg)
			f.mu.Unlock()
		}
	}()
	for {
		select {
		case <-closed:
			return
		case obj := <-ch:
			b, _ := json.Marshal(map[string]any{"type": "ADDED", "object": obj})
			if websocket.Message.Send(ws, string(b)) != nil {
				return
			}
		}
	}
}

func aggAllowLoopback(c *server.Config) { c.ProxyAllowLoopback = true }

// flundersGVR is the flunder server's resource.
var flundersGVR = schema.GroupVersionResource{Group: "wardle.example.com", Version: "v1alpha1", Resource: "flunders"}

// startFlunders is kapi with the flunder server (holding default/first)
// registered as wardle.example.com/v1alpha1 behind the Service
// wardle/api, Available and served through kapi.
func startFlunders(t *testing.T) (*kapi, *flunderServer, *aggExtension) {
	t.Helper()
	k := startKapi(t, aggAllowLoopback)
	flunders := &flunderServer{}
	flunders.add("default", "first")
	ext := startAggExtension(t, k, "wardle", "api", flunders)
	aggService(t, k, "wardle", "api", ext.Port, true)
	aggAPIService(t, k, "wardle.example.com", "v1alpha1", "wardle", "api", ext.CA, 2000, 10)
	aggWaitCondition(t, k, "v1alpha1.wardle.example.com", "Passed", "all checks passed")
	if err := waitUntil(30*time.Second, func() bool {
		_, err := k.dynamic.Resource(flundersGVR).Namespace("default").List(context.Background(), metav1.ListOptions{})
		return err == nil
	}); err != nil {
		t.Fatal("flunders are not served through kapi")
	}
	return k, flunders, ext
}

// TestAggregationFlunders: an APIService with spec.service makes kapi
// proxy wardle.example.com/v1alpha1 to the test's extension server (TLS
// verified with the caBundle; the server, standard, authenticates kapi's
// front-proxy certificate and the user in X-Remote-* from kapi's
// ConfigMap, whatever the client sent there); client-go lists and
// watches flunders through kapi, kubectl gets them, discovery (legacy and
// aggregated) and OpenAPI v2 and v3 show them; deleting the APIService
// ends the routing.
func TestAggregationFlunders(t *testing.T) {
	k, flunders, ext := startFlunders(t)
	ctx := context.Background()
	gvr := flundersGVR
	list, err := k.dynamic.Resource(gvr).Namespace("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].GetName() != "first" {
		t.Fatalf("flunders: %v", list.Items)
	}

	// The user arrives in the front proxy's headers; the client's own
	// X-Remote-User is not believed.
	rc := *k.rest
	rc.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return aggRoundTripper(func(r *http.Request) (*http.Response, error) {
			r.Header.Set("X-Remote-User", "mallory")
			r.Header.Add("X-Remote-Group", "system:masters-forged")
			return rt.RoundTrip(r)
		})
	}
	if _, err := aggregatorRaw(t, &rc, "/apis/wardle.example.com/v1alpha1/namespaces/default/flunders"); err != nil {
		t.Fatal(err)
	}
	var last aggSeen
	for _, s := range ext.requests() {
		if s.Path == "/apis/wardle.example.com/v1alpha1/namespaces/default/flunders" {
			last = s
		}
	}
	// k8s.io/apiserver's request-header authenticator (of the ConfigMap's
	// requestheader-* keys) took the front proxy's certificate and
	// headers.
	if last.ProxyCN != "front-proxy-client" || last.User != "kubernetes-admin" || !slices.Contains(last.Groups, "system:masters") ||
		!slices.Contains(last.Groups, "system:authenticated") || slices.Contains(last.Groups, "system:masters-forged") {
		t.Fatalf("the extension saw %+v", last)
	}

	// A watch streams through kapi.
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	wi, err := k.dynamic.Resource(gvr).Namespace("default").Watch(wctx, metav1.ListOptions{ResourceVersion: "1"})
	if err != nil {
		t.Fatal(err)
	}
	defer wi.Stop()
	if err := waitUntil(10*time.Second, func() bool { return flunders.watcherCount() == 1 }); err != nil {
		t.Fatal("the watch did not reach the extension")
	}
	flunders.add("default", "second")
	ev := <-wi.ResultChan()
	if ev.Type != watch.Added {
		t.Fatalf("watch event %+v", ev)
	}
	if name := ev.Object.(interface{ GetName() string }).GetName(); name != "second" {
		t.Fatalf("watched %s", name)
	}

	if out := k.mustKubectl("", "get", "flunders", "-n", "default"); !strings.Contains(out, "first") || !strings.Contains(out, "second") {
		t.Fatalf("kubectl get flunders:\n%s", out)
	}

	// Discovery: legacy and aggregated.
	groups, err := k.client.Discovery().ServerGroups()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, g := range groups.Groups {
		found = found || g.Name == "wardle.example.com" && g.PreferredVersion.Version == "v1alpha1"
	}
	if !found {
		t.Fatalf("/apis lacks wardle.example.com: %+v", groups.Groups)
	}
	var agg apidiscoveryv2.APIGroupDiscoveryList
	if err := waitUntil(30*time.Second, func() bool {
		b, err := k.client.Discovery().RESTClient().Get().AbsPath("/apis").
			SetHeader("Accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList").DoRaw(ctx)
		if err != nil || json.Unmarshal(b, &agg) != nil {
			return false
		}
		for _, g := range agg.Items {
			if g.Name == "wardle.example.com" && len(g.Versions) == 1 && len(g.Versions[0].Resources) == 1 &&
				g.Versions[0].Resources[0].Resource == "flunders" && g.Versions[0].Freshness == apidiscoveryv2.DiscoveryFreshnessCurrent {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("aggregated discovery lacks the flunders")
	}
	if b, err := aggregatorRaw(t, k.rest, "/apis/wardle.example.com/v1alpha1"); err != nil || !strings.Contains(string(b), `"flunders"`) {
		t.Fatalf("/apis/wardle.example.com/v1alpha1: %s %v", b, err)
	}

	// OpenAPI v2 merged, v3 listed and proxied.
	if err := waitUntil(30*time.Second, func() bool {
		b, err := aggregatorRaw(t, k.rest, "/openapi/v2")
		return err == nil && strings.Contains(string(b), "com.example.wardle.v1alpha1.Flunder") &&
			strings.Contains(string(b), "/apis/wardle.example.com/v1alpha1/namespaces/{namespace}/flunders") &&
			strings.Contains(string(b), "io.k8s.api.core.v1.Pod")
	}); err != nil {
		t.Fatal("/openapi/v2 lacks the extension's paths and definitions")
	}
	index, err := aggregatorRaw(t, k.rest, "/openapi/v3")
	if err != nil || !strings.Contains(string(index), `"apis/wardle.example.com/v1alpha1"`) || !strings.Contains(string(index), `"apis/apps/v1"`) {
		t.Fatalf("/openapi/v3: %v %.300s", err, index)
	}
	if b, err := aggregatorRaw(t, k.rest, "/openapi/v3/apis/wardle.example.com/v1alpha1"); err != nil || !strings.Contains(string(b), "listWardleV1alpha1NamespacedFlunder") {
		t.Fatalf("/openapi/v3/apis/wardle.example.com/v1alpha1: %v %s", err, b)
	}

	// Without its APIService, the group is kapi's again: not found.
	if err := aggregator.NewForConfigOrDie(k.rest).ApiregistrationV1().APIServices().Delete(ctx, "v1alpha1.wardle.example.com", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := waitUntil(30*time.Second, func() bool {
		_, err := k.dynamic.Resource(gvr).Namespace("default").List(ctx, metav1.ListOptions{})
		return apierrors.IsNotFound(err)
	}); err != nil {
		t.Fatal("flunders are still served after the APIService was deleted")
	}
}

type aggRoundTripper func(*http.Request) (*http.Response, error)

func (f aggRoundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
