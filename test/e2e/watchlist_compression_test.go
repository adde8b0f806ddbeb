package e2e

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/features"
	"kapi/internal/server"
)

// TestWatchListCompression: a watch list whose client takes gzip is
// gzipped, as kube-apiserver 1.37 does (WatchListCompression, on by
// default), one gzip member per flush, so that a reader gets each event
// as it is sent: the initial events, the bookmark ending them, then a
// change made afterwards. A plain watch is not compressed, nor a watch
// list with the gate off. (TestWatchList and TestReflectorUsesWatchList
// read compressed watch lists through client-go's transport.)
func TestWatchListCompression(t *testing.T) {
	t.Parallel()
	k := startKapi(t, withoutLoops(rootCAPublisher))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cms := k.client.CoreV1().ConfigMaps("default")
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const watchList = "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"
	resp := getAskingGzip(ctx, t, k, watchList)
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("a watch list asking for gzip: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	events := json.NewDecoder(bufio.NewReader(zr))
	next := func() (string, *corev1.ConfigMap) {
		t.Helper()
		var ev struct {
			Type   string
			Object corev1.ConfigMap
		}
		if err := events.Decode(&ev); err != nil {
			t.Fatalf("reading the gzipped watch: %v", err)
		}
		return ev.Type, &ev.Object
	}
	if typ, cm := next(); typ != "ADDED" || cm.Name != "a" {
		t.Fatalf("first event %s %s", typ, cm.Name)
	}
	for {
		typ, cm := next()
		if typ == "BOOKMARK" && cm.Annotations[metav1.InitialEventsAnnotationKey] == "true" {
			break
		}
	}
	// Only what was flushed has arrived: the change below is read from
	// a member of its own.
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "b"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		typ, cm := next()
		if typ == "BOOKMARK" {
			continue
		}
		if typ != "ADDED" || cm.Name != "b" {
			t.Fatalf("after the initial events: %s %s", typ, cm.Name)
		}
		break
	}

	if resp := getAskingGzip(ctx, t, k, "/api/v1/namespaces/default/configmaps?watch=true"); resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("a plain watch: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	g := features.New()
	if err := g.Set("WatchListCompression=false"); err != nil {
		t.Fatal(err)
	}
	off := startKapi(t, withoutLoops(rootCAPublisher), func(c *server.Config) { c.FeatureGates = g })
	if resp := getAskingGzip(ctx, t, off, watchList); resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("a watch list with WatchListCompression off: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
}
