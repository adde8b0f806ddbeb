package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// requestTimeout is the replicas' --request-timeout in TestEtcdOutage.
const requestTimeout = 10 * time.Second

// answer is what a raw request got: clients are raw HTTP, as client-go
// would retry on its own what has Retry-After.
type answer struct {
	code       int
	retryAfter string
	status     metav1.Status
	body       string
	err        error
}

func (a answer) String() string {
	if a.err != nil {
		return a.err.Error()
	}
	if a.status.Kind == "Status" {
		return fmt.Sprintf("%d %s %q, Retry-After %q", a.code, a.status.Reason, a.status.Message, a.retryAfter)
	}
	return fmt.Sprintf("%d %q, Retry-After %q", a.code, strings.TrimSpace(a.body), a.retryAfter)
}

// TestEtcdOutage: while etcd cannot serve kapi (two of the three members
// stopped, the traffic between kapi and etcd blackholed, every member
// killed), /readyz fails and requests are answered within the request
// timeout (the client waits 10 s longer) with a 5xx Status naming etcd:
// reads 503 or 504 with Retry-After, writes of unknown outcome without it
// (client-go retries on its own whatever has Retry-After); once etcd is back, both replicas serve again, without a
// restart.
func TestEtcdOutage(t *testing.T) {
	c := startCluster(t, clusterArgs{kapi: []string{"--request-timeout", requestTimeout.String()}})
	hc, err := rest.HTTPClientFor(c.rest)
	if err != nil {
		t.Fatal(err)
	}
	raw := func(replica int, method, path, body string) answer {
		ctx, cancel := context.WithTimeout(context.Background(), requestTimeout+10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, method, c.kapiURLs[replica]+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return answer{err: err}
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		a := answer{code: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: string(b)}
		json.Unmarshal(b, &a.status)
		return a
	}
	pids := func() []int {
		var out []int
		for _, p := range c.kapi {
			out = append(out, p.cmd.Process.Pid)
		}
		return out
	}
	before := pids()
	outages := []struct {
		name       string
		begin, end func(t *testing.T)
	}{
		{"two of three etcd members stopped", func(t *testing.T) {
			l := c.etcdLeader(t)
			for _, m := range []int{(l + 1) % 3, (l + 2) % 3} {
				c.etcd[m].signal(syscall.SIGSTOP)
			}
		}, func(t *testing.T) {
			for _, p := range c.etcd {
				p.signal(syscall.SIGCONT)
			}
		}},
		{"kapi and etcd blackholed", func(t *testing.T) {
			for _, p := range c.proxies {
				p.blackhole()
			}
		}, func(t *testing.T) {
			for _, p := range c.proxies {
				p.heal()
			}
		}},
		{"every etcd member killed", func(t *testing.T) {
			for _, p := range c.etcd {
				p.kill9()
			}
		}, func(t *testing.T) {
			for _, p := range c.etcd {
				p.start(t)
			}
		}},
	}
	for i, o := range outages {
		t.Run(o.name, func(t *testing.T) {
			name := fmt.Sprintf("before-%d", i)
			if _, err := c.clientFor(0).CoreV1().ConfigMaps("default").Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			o.begin(t)
			ended := false
			end := func() {
				if !ended {
					o.end(t)
					ended = true
				}
			}
			defer end()
			// The probes, at once.
			probes := []struct {
				what, method, path, body string
				write                    bool
			}{
				{what: "/readyz", method: "GET", path: "/readyz"},
				{what: "a get", method: "GET", path: "/api/v1/namespaces/default/configmaps/" + name},
				{what: "a list", method: "GET", path: "/api/v1/namespaces/default/configmaps"},
				{what: "a create", method: "POST", path: "/api/v1/namespaces/default/configmaps", write: true,
					body: fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"during-%d"}}`, i)},
				{what: "a delete", method: "DELETE", path: "/api/v1/namespaces/default/configmaps/" + name, write: true},
			}
			answers := make([]answer, len(probes))
			var wg sync.WaitGroup
			for j, p := range probes {
				wg.Add(1)
				go func() { defer wg.Done(); answers[j] = raw(0, p.method, p.path, p.body) }()
			}
			wg.Wait()
			for j, p := range probes {
				a := answers[j]
				t.Logf("%s: %v", p.what, a)
				switch {
				case a.err != nil:
					t.Errorf("%s had no answer within the request timeout: %v", p.what, a.err)
				case p.path == "/readyz":
					if a.code == http.StatusOK {
						t.Errorf("/readyz passed: %v", a)
					}
				case a.status.Kind != "Status" || a.code < 500 || !strings.Contains(a.status.Message, "etcd"):
					t.Errorf("%s was not answered with a 5xx Status naming etcd: %v", p.what, a)
				case p.write && a.retryAfter != "" && strings.Contains(a.status.Message, "may have been applied"):
					// (A write whose read of the object failed wrote
					// nothing: it may say when to try again.)
					t.Errorf("%s of unknown outcome has Retry-After: %v", p.what, a)
				case !p.write && (a.code != 503 && a.code != 504 || a.retryAfter == ""):
					t.Errorf("%s was not a 503 or 504 with Retry-After: %v", p.what, a)
				}
			}

			end()
			for r := range c.kapi {
				waitServing(t, c, r)
				if a := raw(r, "GET", "/readyz", ""); a.code != http.StatusOK {
					t.Errorf("replica %d: /readyz after the outage: %v", r, a)
				}
			}
		})
	}
	if after := pids(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("the replicas restarted: %v, then %v", before, after)
	}
}

// waitServing waits until replica r has acknowledged a write and its
// /readyz passes.
func waitServing(t *testing.T, c *cluster, r int) {
	t.Helper()
	cms := c.clientFor(r).CoreV1().ConfigMaps("default")
	var err error
	for n := 0; n < 300; n++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "after-"}}, metav1.CreateOptions{})
		cancel()
		if err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("replica %d serves no write after the outage: %v", r, err)
	}
	hc, herr := rest.HTTPClientFor(c.rest)
	if herr != nil {
		t.Fatal(herr)
	}
	for n := 0; ; n++ {
		resp, err := hc.Get(c.kapiURLs[r] + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if n == 300 {
			t.Fatalf("replica %d: /readyz never passed again", r)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
