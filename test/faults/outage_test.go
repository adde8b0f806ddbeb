package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// TestEtcdOutage: with two of the three etcd members stopped (no quorum),
// /readyz fails; a read is answered, within the request timeout, with a
// 503 or 504 Status and Retry-After, a write with a 5xx Status naming the
// cause; once the members are back, kapi serves again without a restart.
func TestEtcdOutage(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	cl := c.clientFor(0)
	if _, err := cl.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "before"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hc, err := rest.HTTPClientFor(c.rest)
	if err != nil {
		t.Fatal(err)
	}
	readyz := func() (int, string) {
		rctx, cancel := context.WithTimeout(ctx, 70*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(rctx, "GET", c.kapiURLs[0]+"/readyz", nil)
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := readyz(); code != http.StatusOK {
		t.Fatalf("/readyz before the outage: %d %s", code, body)
	}

	l := c.etcdLeader(t)
	stopped := []int{(l + 1) % 3, (l + 2) % 3}
	for _, m := range stopped {
		c.etcd[m].signal(syscall.SIGSTOP)
	}
	resumed := false
	resume := func() {
		if !resumed {
			for _, m := range stopped {
				c.etcd[m].signal(syscall.SIGCONT)
			}
			resumed = true
		}
	}
	defer resume()
	// kapi's --request-timeout is the default 60 s: a client waiting 70 s
	// sees kapi's own answer, never its own deadline. (Raw requests:
	// client-go would retry on a Retry-After.)
	raw := func(method, path, body string) (int, string, metav1.Status) {
		wctx, cancel := context.WithTimeout(ctx, 70*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(wctx, method, c.kapiURLs[0]+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s without an etcd quorum had no answer: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var st metav1.Status
		json.Unmarshal(b, &st)
		return resp.StatusCode, resp.Header.Get("Retry-After"), st
	}
	// A read: try again later.
	code, retry, st := raw("GET", "/api/v1/namespaces/default/configmaps/before", "")
	if code != 503 && code != 504 || st.Kind != "Status" || retry == "" {
		t.Errorf("a read without an etcd quorum: %d, Retry-After %q, %+v", code, retry, st)
	}
	t.Logf("a read without an etcd quorum: %d %s %q, Retry-After %s", code, st.Reason, st.Message, retry)
	// A write: a 5xx Status naming the cause; its outcome is unknown, so
	// no Retry-After (client-go would retry it on its own).
	code, retry, st = raw("POST", "/api/v1/namespaces/default/configmaps", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"during"}}`)
	if code < 500 || st.Kind != "Status" || retry != "" {
		t.Errorf("a write without an etcd quorum: %d, Retry-After %q, %+v", code, retry, st)
	}
	t.Logf("a write without an etcd quorum: %d %s %q", code, st.Reason, st.Message)
	if code, body := readyz(); code == http.StatusOK {
		t.Errorf("/readyz without an etcd quorum: 200 %s", body)
	}

	resume()
	deadline := time.Now().Add(60 * time.Second)
	for n := 0; ; n++ {
		octx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := cl.CoreV1().ConfigMaps("default").Create(octx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("after-%d", n)}}, metav1.CreateOptions{})
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kapi did not serve writes again after the outage: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := waitReady(readyz); err != nil {
		t.Fatal(err)
	}
}

func waitReady(readyz func() (int, string)) error {
	var body string
	for range 100 {
		var code int
		if code, body = readyz(); code == http.StatusOK {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("/readyz never turned 200 again: %s", body)
}
