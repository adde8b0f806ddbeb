package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"kapi/internal/storage"
	"kapi/internal/storage/storagetest"
)

// TestWatchFromResourceVersion: watchers in JSON and in protobuf, which
// share each event's frames among their kind, see the same events from a
// resourceVersion, as a label selector lets objects in and out.
func TestWatchFromResourceVersion(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	cms := k.client.CoreV1().ConfigMaps("default")
	first, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "w0"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var watchers []watch.Interface
	for _, ct := range []string{"application/json", "application/vnd.kubernetes.protobuf", "application/json", "application/vnd.kubernetes.protobuf"} {
		rc := rest.CopyConfig(k.rest)
		rc.ContentType, rc.AcceptContentTypes = ct, ct
		w, err := kubernetes.NewForConfigOrDie(rc).CoreV1().ConfigMaps("default").Watch(ctx,
			metav1.ListOptions{ResourceVersion: first.ResourceVersion, LabelSelector: "watched=yes"})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		watchers = append(watchers, w)
	}
	mk := func(name, label string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"watched": label}}}
	}
	if _, err := cms.Create(ctx, mk("w1", "yes"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Create(ctx, mk("w2", "no"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// w2 starts matching: ADDED for this watcher; w1 stops: DELETED.
	if _, err := cms.Update(ctx, mk("w2", "yes"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Update(ctx, mk("w1", "no"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "w2", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"ADDED w1", "ADDED w2", "DELETED w1", "DELETED w2"}
	for i, w := range watchers {
		for _, wnt := range want {
			select {
			case ev := <-w.ResultChan():
				cm, ok := ev.Object.(*corev1.ConfigMap)
				if !ok {
					t.Fatalf("watcher %d: event %s carries %T", i, ev.Type, ev.Object)
				}
				if got := fmt.Sprintf("%s %s", ev.Type, cm.Name); got != wnt {
					t.Fatalf("watcher %d: got event %q, want %q", i, got, wnt)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("watcher %d: no event, want %q", i, wnt)
			}
		}
	}
}

// TestWatchTimeoutAndBookmarks: a watch that asks for bookmarks gets them
// (with the bookmark interval at zero, as often as the server can), and
// the server ends it at timeoutSeconds.
func TestWatchTimeoutAndBookmarks(t *testing.T) {
	old := storage.BookmarkInterval
	storage.BookmarkInterval = 0
	defer func() { storage.BookmarkInterval = old }()
	k := startKapi(t, withoutLoops(rootCAPublisher))
	ctx := context.Background()
	cm, err := k.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "b"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	timeout := int64(12)
	w, err := k.client.CoreV1().ConfigMaps("default").Watch(ctx, metav1.ListOptions{TimeoutSeconds: &timeout,
		AllowWatchBookmarks: true, ResourceVersion: cm.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	deadline := time.After(30 * time.Second)
	bookmarks := 0
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				if bookmarks == 0 {
					t.Fatal("the watch ended without a bookmark")
				}
				return // the server ended the watch at timeoutSeconds
			}
			if ev.Type != watch.Bookmark {
				t.Fatalf("unexpected %s event", ev.Type)
			}
			if m := ev.Object.(*corev1.ConfigMap); rv(t, m.ResourceVersion) < rv(t, cm.ResourceVersion) {
				t.Fatalf("bookmark at %s, before the watch started at %s", m.ResourceVersion, cm.ResourceVersion)
			}
			bookmarks++
		case <-deadline:
			t.Fatal("watch with timeoutSeconds=12 still open after 30s")
		}
	}
}

func TestWatchGoneAfterCompaction(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	cms := k.client.CoreV1().ConfigMaps("default")
	var last *corev1.ConfigMap
	for i := 0; i < 5; i++ {
		var err error
		last, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("g%d", i)}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	k.compact(t, last.ResourceVersion)
	// The watch cache keeps recent events whatever etcd compacted; after a
	// restart its window starts anew, and an old revision is gone.
	k.cfg.SecurePort = portOf(t, k.srv.URL)
	k.restart()
	cms = k.client.CoreV1().ConfigMaps("default")
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: "2"})
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	defer w.Stop()
	select {
	case ev := <-w.ResultChan():
		st, ok := ev.Object.(*metav1.Status)
		if ev.Type != watch.Error || !ok || st.Code != 410 {
			t.Fatalf("want an ERROR event with 410, got %s %#v", ev.Type, ev.Object)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event from a watch at a compacted revision")
	}
	// A list at an exact compacted revision is 410 too.
	_, err = cms.List(ctx, metav1.ListOptions{ResourceVersion: "2", ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	if !isGone(err) {
		t.Fatalf("exact list at a compacted revision: want 410, got %v", err)
	}
}

// TestInformerAcrossRestart: a SharedInformer sees adds, updates and
// deletes in order, and goes on seeing them after kapi restarts.
func TestInformerAcrossRestart(t *testing.T) {
	k := startKapi(t, withoutLoops(rootCAPublisher))
	var mu sync.Mutex
	var events []string
	record := func(s string) {
		mu.Lock()
		events = append(events, s)
		mu.Unlock()
	}
	// The informer talks to kapi through a client that follows restarts:
	// the port stays the same because the restart reuses it.
	k.cfg.SecurePort = portOf(t, k.srv.URL)
	client := kubernetes.NewForConfigOrDie(k.rest)
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace("default"))
	inf := factory.Core().V1().ConfigMaps().Informer()
	inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(o interface{}) { record("add " + o.(*corev1.ConfigMap).Name) },
		UpdateFunc: func(_, o interface{}) {
			cm := o.(*corev1.ConfigMap)
			record("update " + cm.Name + "=" + cm.Data["v"])
		},
		DeleteFunc: func(o interface{}) {
			if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
				o = d.Obj
			}
			record("delete " + o.(*corev1.ConfigMap).Name)
		},
	})
	stop := make(chan struct{})
	defer close(stop)
	factory.Start(stop)
	if !cache.WaitForCacheSync(stop, inf.HasSynced) {
		t.Fatal("informer did not sync")
	}
	ctx := context.Background()
	cms := k.client.CoreV1().ConfigMaps("default")
	mustDo(t, func() error {
		_, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "i1"}, Data: map[string]string{"v": "1"}}, metav1.CreateOptions{})
		return err
	})
	mustDo(t, func() error {
		_, err := cms.Update(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "i1"}, Data: map[string]string{"v": "2"}}, metav1.UpdateOptions{})
		return err
	})
	waitFor(t, &mu, &events, []string{"add i1", "update i1=2"})

	k.restart()
	cms = k.client.CoreV1().ConfigMaps("default")
	mustDo(t, func() error {
		_, err := cms.Update(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "i1"}, Data: map[string]string{"v": "3"}}, metav1.UpdateOptions{})
		return err
	})
	// The informer sees the update whether its watch resumed or it
	// listed again: as kube-apiserver's, kapi's watch cache answers 410 to
	// a resume from before the restart once anything (kapi's own leases at
	// stop and start) was written meanwhile, and the informer lists again.
	waitFor(t, &mu, &events, []string{"add i1", "update i1=2", "update i1=3"})
	mustDo(t, func() error { return cms.Delete(ctx, "i1", metav1.DeleteOptions{}) })
	waitFor(t, &mu, &events, []string{"add i1", "update i1=2", "update i1=3", "delete i1"})
}

func waitFor(t *testing.T, mu *sync.Mutex, events *[]string, want []string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		got := fmt.Sprint(*events)
		mu.Unlock()
		if got == fmt.Sprint(want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Fatalf("informer events %v, want %v", *events, want)
}

func mustDo(t *testing.T, f func() error) {
	t.Helper()
	if err := f(); err != nil {
		t.Fatal(err)
	}
}

// TestWatchList: sendInitialEvents=true streams the state, a bookmark
// annotated k8s.io/initial-events-end, then the changes (client-go's
// WatchList protocol).
func TestWatchList(t *testing.T) {
	k := startKapi(t, withoutLoops(rootCAPublisher))
	ctx := context.Background()
	cms := k.client.CoreV1().ConfigMaps("default")
	for _, n := range []string{"a", "b"} {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	yes := true
	w, err := cms.Watch(ctx, metav1.ListOptions{SendInitialEvents: &yes, AllowWatchBookmarks: true, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var got []string
	for len(got) < 3 {
		ev := storagetest.Next(t, w)
		cm := ev.Object.(*corev1.ConfigMap)
		if ev.Type == watch.Bookmark {
			if cm.Annotations[metav1.InitialEventsAnnotationKey] != "true" {
				continue // an ordinary bookmark
			}
			got = append(got, "END")
			continue
		}
		got = append(got, string(ev.Type)+" "+cm.Name)
	}
	if fmt.Sprint(got) != "[ADDED a ADDED b END]" {
		t.Fatalf("initial events %v", got)
	}
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if ev := storagetest.Next(t, w); ev.Type != watch.Added || ev.Object.(*corev1.ConfigMap).Name != "c" {
		t.Fatalf("after the initial events: %s %v", ev.Type, ev.Object)
	}
	// Without bookmarks it is refused, as kube-apiserver refuses it.
	_, err = cms.Watch(ctx, metav1.ListOptions{SendInitialEvents: &yes, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("sendInitialEvents without allowWatchBookmarks: %v", err)
	}

	// As Tables (kube's "server supports sending resources in Table
	// format"): the columns with the first event, and the bookmark a
	// Table of one row whose metadata carries the annotation.
	cfg := dynamic.ConfigFor(k.rest)
	cfg.AcceptContentTypes = "application/json;as=Table;v=v1;g=meta.k8s.io"
	cfg.GroupVersion = &corev1.SchemeGroupVersion
	rc, err := rest.RESTClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tw, err := dynamic.New(rc).Resource(corev1.SchemeGroupVersion.WithResource("configmaps")).Namespace("default").Watch(ctx,
		metav1.ListOptions{SendInitialEvents: &yes, AllowWatchBookmarks: true, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan})
	if err != nil {
		t.Fatal(err)
	}
	defer tw.Stop()
	got = nil
	for len(got) < 4 {
		ev := storagetest.Next(t, tw)
		var table metav1.Table
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(ev.Object.(*unstructured.Unstructured).Object, &table); err != nil {
			t.Fatal(err)
		}
		if len(table.Rows) != 1 {
			t.Fatalf("a %s Table of %d rows", ev.Type, len(table.Rows))
		}
		row, err := runtime.Decode(unstructured.UnstructuredJSONScheme, table.Rows[0].Object.Raw)
		if err != nil {
			t.Fatal(err)
		}
		m := row.(*unstructured.Unstructured)
		entry := fmt.Sprintf("%s %s %s %d", ev.Type, row.GetObjectKind().GroupVersionKind().Kind, m.GetName(), len(table.ColumnDefinitions))
		if ev.Type == watch.Bookmark {
			if m.GetAnnotations()[metav1.InitialEventsAnnotationKey] != "true" {
				continue
			}
			entry = fmt.Sprintf("END %s %d", row.GetObjectKind().GroupVersionKind().Kind, len(table.ColumnDefinitions))
		}
		got = append(got, entry)
	}
	if fmt.Sprint(got) != "[ADDED PartialObjectMetadata a 3 ADDED PartialObjectMetadata b 0 ADDED PartialObjectMetadata c 0 END PartialObjectMetadata 0]" {
		t.Fatalf("initial events as Tables %v", got)
	}
}

// TestReflectorUsesWatchList: client-go's reflector (WatchListClient is
// on by default in client-go 1.35+) syncs an informer through the
// WatchList protocol alone: a watch with sendInitialEvents=true, no list.
func TestReflectorUsesWatchList(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	if _, err := k.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "seen"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var queries []string
	cfg := rest.CopyConfig(k.rest)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if strings.Contains(r.URL.Path, "/configmaps") {
				mu.Lock()
				queries = append(queries, r.URL.RawQuery)
				mu.Unlock()
			}
			return rt.RoundTrip(r)
		})
	})
	factory := informers.NewSharedInformerFactoryWithOptions(kubernetes.NewForConfigOrDie(cfg), 0, informers.WithNamespace("default"))
	inf := factory.Core().V1().ConfigMaps().Informer()
	stop := make(chan struct{})
	defer close(stop)
	factory.Start(stop)
	if !cache.WaitForCacheSync(stop, inf.HasSynced) {
		t.Fatal("informer did not sync")
	}
	if _, ok, _ := inf.GetStore().GetByKey("default/seen"); !ok {
		t.Fatal("the informer's store lacks default/seen")
	}
	mu.Lock()
	defer mu.Unlock()
	watchList := false
	for _, q := range queries {
		if !strings.Contains(q, "watch=true") {
			t.Fatalf("the reflector listed (%q); want WatchList only: %v", q, queries)
		}
		if strings.Contains(q, "sendInitialEvents=true") {
			watchList = true
		}
	}
	if !watchList {
		t.Fatalf("no sendInitialEvents watch among %v", queries)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// rv is a resourceVersion as the number it is in kapi (an etcd
// revision), for comparing two: as strings, "102" comes before "21".
func rv(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("resourceVersion %q: %v", s, err)
	}
	return n
}
