package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"
	"k8s.io/client-go/rest"
)

// TestAggregationWebSocketWatch: a watch of flunders over a WebSocket,
// as k8s.io/apiserver serves one (an extension server must speak it
// itself), passes through kapi's aggregation proxy: kapi hands the
// Upgrade on and splices the extension's 101; an event the extension
// sends comes to the client as a message, a message of the client
// reaches the extension, and the client's close ends the extension's
// watch.
func TestAggregationWebSocketWatch(t *testing.T) {
	k, flunders, ext := startFlunders(t)
	tlsConfig, err := rest.TLSConfigFor(k.rest)
	if err != nil {
		t.Fatal(err)
	}
	const path = "/apis/wardle.example.com/v1alpha1/namespaces/default/flunders"
	cfg, err := websocket.NewConfig(strings.Replace(k.rest.Host, "https://", "wss://", 1)+path+"?watch=true", k.rest.Host)
	if err != nil {
		t.Fatal(err)
	}
	cfg.TlsConfig = tlsConfig
	if k.rest.BearerToken != "" {
		cfg.Header = http.Header{"Authorization": {"Bearer " + k.rest.BearerToken}}
	}
	ws, err := websocket.DialConfig(cfg)
	if err != nil {
		t.Fatalf("a WebSocket watch through kapi: %v", err)
	}
	defer ws.Close()
	// A safety net for a broken proxy, not a measure.
	ws.SetDeadline(time.Now().Add(60 * time.Second))
	if err := waitUntil(30*time.Second, func() bool { return flunders.watcherCount() == 1 }); err != nil {
		t.Fatal("the WebSocket watch did not reach the extension")
	}
	if !slices.ContainsFunc(ext.requests(), func(s aggSeen) bool { return s.Path == path && s.User == "kubernetes-admin" }) {
		t.Fatalf("the extension did not see the admin's upgrade: %+v", ext.requests())
	}

	// Server to client: an event.
	flunders.add("default", "over-websocket")
	var msg string
	if err := websocket.Message.Receive(ws, &msg); err != nil {
		t.Fatalf("reading the watch: %v", err)
	}
	var ev struct {
		Type   string
		Object struct{ Metadata struct{ Name string } }
	}
	if err := json.Unmarshal([]byte(msg), &ev); err != nil || ev.Type != "ADDED" || ev.Object.Metadata.Name != "over-websocket" {
		t.Fatalf("watch event %q: %v", msg, err)
	}
	// Client to server: a message.
	if err := websocket.Message.Send(ws, "hello from the client"); err != nil {
		t.Fatal(err)
	}
	if err := waitUntil(30*time.Second, func() bool {
		flunders.mu.Lock()
		defer flunders.mu.Unlock()
		return slices.Contains(flunders.received, "hello from the client")
	}); err != nil {
		t.Fatal("the client's message did not reach the extension")
	}
	// The client goes: the extension's watch ends.
	ws.Close()
	if err := waitUntil(30*time.Second, func() bool { return flunders.watcherCount() == 0 }); err != nil {
		t.Fatal("the extension's watch outlived the client's WebSocket")
	}
}
