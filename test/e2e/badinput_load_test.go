package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// TestBadInputUnderLoad: the bad-input catalogue, sent by 16 clients at
// once (each its own connection) while 4 writers create and update
// ConfigMaps, gets the same answers as when sent alone, raises no 5xx,
// stores nothing, and costs the writers nothing they were told was
// written.
func TestBadInputUnderLoad(t *testing.T) {
	k := startKapi(t, withoutLoops(rootCAPublisher))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := k.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "busy"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// The writers: each creates its objects, then updates them in turn,
	// remembering the last value the server acknowledged.
	const writers, objects = 4, 10
	acked := make([][]int, writers)
	unknown := make([][]int, writers) // an update cut off by the end of the test: written or not
	var wg sync.WaitGroup
	var writeErrs atomic.Int64
	for w := range writers {
		acked[w], unknown[w] = make([]int, objects), make([]int, objects)
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := kubernetes.NewForConfigOrDie(ownConnection(k.rest))
			cms := c.CoreV1().ConfigMaps("busy")
			for i := range objects {
				if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("w%d-%d", w, i)},
					Data: map[string]string{"n": "0"}}, metav1.CreateOptions{}); err != nil {
					writeErrs.Add(1)
					return
				}
			}
			for n := 1; ctx.Err() == nil; n++ {
				i := n % objects
				cm, err := cms.Get(ctx, fmt.Sprintf("w%d-%d", w, i), metav1.GetOptions{})
				if err != nil {
					if ctx.Err() == nil {
						writeErrs.Add(1)
					}
					return
				}
				cm.Data["n"] = fmt.Sprint(n)
				if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err == nil {
					acked[w][i] = n
				} else if ctx.Err() == nil {
					writeErrs.Add(1)
				} else {
					unknown[w][i] = n
				}
			}
		}()
	}

	// The 16 clients of bad input, five rounds of the catalogue each.
	catalogue := badInputCatalogue()
	var bad sync.WaitGroup
	errs := make(chan string, 16*len(catalogue)*5)
	for range 16 {
		bad.Add(1)
		go func() {
			defer bad.Done()
			hc, err := rest.HTTPClientFor(ownConnection(k.rest))
			if err != nil {
				errs <- err.Error()
				return
			}
			for range 5 {
				for _, c := range catalogue {
					code, st, body, err := sendRaw(hc, k.srv.URL, c)
					switch {
					case err != nil:
						errs <- fmt.Sprintf("%s: %v", c.name, err)
					case code >= 500:
						errs <- fmt.Sprintf("%s: a %d: %s", c.name, code, body)
					case code != c.code || st == nil || st.Reason != c.reason || st.Code != int32(c.code):
						errs <- fmt.Sprintf("%s: got %d %s, want %d %s", c.name, code, body, c.code, c.reason)
					}
				}
			}
		}()
	}
	bad.Wait()
	cancel()
	wg.Wait()
	close(errs)
	n := 0
	for e := range errs {
		if n++; n <= 10 {
			t.Error(e)
		}
	}
	if writeErrs.Load() != 0 {
		t.Errorf("%d writes failed beside the bad input", writeErrs.Load())
	}

	list, err := k.client.CoreV1().ConfigMaps("default").List(context.Background(), metav1.ListOptions{})
	if err != nil || len(list.Items) != 0 {
		t.Fatalf("bad requests stored %d objects (%v)", len(list.Items), err)
	}
	busy, err := k.client.CoreV1().ConfigMaps("busy").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, cm := range busy.Items {
		got[cm.Name] = cm.Data["n"]
	}
	updates := 0
	for w := range writers {
		for i := range objects {
			name := fmt.Sprintf("w%d-%d", w, i)
			if got[name] != fmt.Sprint(acked[w][i]) && (unknown[w][i] == 0 || got[name] != fmt.Sprint(unknown[w][i])) {
				t.Errorf("%s holds %q, the last acknowledged update wrote %d", name, got[name], acked[w][i])
			}
			updates += acked[w][i] / objects
		}
	}
	t.Logf("%d bad requests from 16 clients beside about %d acknowledged updates", 16*5*len(catalogue), updates)
}

// ownConnection is rc for a client of its own: client-go shares one
// connection among the configurations it has seen, unless told not to.
func ownConnection(rc *rest.Config) *rest.Config {
	c := rest.CopyConfig(rc)
	c.Proxy = http.ProxyFromEnvironment // a per-config transport: no cache entry matches a func
	return c
}

// sendRaw sends a catalogue request with hc.
func sendRaw(hc *http.Client, base string, c badRequest) (int, *metav1.Status, []byte, error) {
	req, err := http.NewRequest(c.method, base+c.path, bytes.NewReader([]byte(c.body)))
	if err != nil {
		return 0, nil, nil, err
	}
	if c.ct != "" {
		req.Header.Set("Content-Type", c.ct)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, err
	}
	var st metav1.Status
	if json.Unmarshal(b, &st) == nil && st.Kind == "Status" {
		return resp.StatusCode, &st, b, nil
	}
	return resp.StatusCode, nil, b, nil
}
