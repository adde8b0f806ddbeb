package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
	"k8s.io/client-go/rest"

	"kapi/internal/server"
)

// TestPriorityAndFairness: with API Priority and Fairness on (the
// default), kube's bootstrap FlowSchemas and PriorityLevelConfigurations
// are kept in etcd, and a response names its FlowSchema and priority
// level by UID: system:masters is exempt. With
// --enable-priority-and-fairness=false, no response does.
func TestPriorityAndFairness(t *testing.T) {
	t.Parallel()
	k := startKapi(t)
	ctx := context.Background()
	fc := k.client.FlowcontrolV1()
	var exemptFS *flowcontrolv1.FlowSchema
	within(t, 30*time.Second, func() error {
		for _, want := range append(bootstrap.MandatoryFlowSchemas, bootstrap.SuggestedFlowSchemas...) {
			fs, err := fc.FlowSchemas().Get(ctx, want.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if fs.Name == "exempt" {
				exemptFS = fs
			}
		}
		for _, want := range append(bootstrap.MandatoryPriorityLevelConfigurations, bootstrap.SuggestedPriorityLevelConfigurations...) {
			if _, err := fc.PriorityLevelConfigurations().Get(ctx, want.Name, metav1.GetOptions{}); err != nil {
				return err
			}
		}
		return nil
	})
	exemptPL, err := fc.PriorityLevelConfigurations().Get(ctx, "exempt", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The config controller records that the exempt schema's level exists.
	within(t, 30*time.Second, func() error {
		fs, err := fc.FlowSchemas().Get(ctx, "exempt", metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range fs.Status.Conditions {
			if c.Type == flowcontrolv1.FlowSchemaConditionDangling && c.Status == flowcontrolv1.ConditionFalse {
				return nil
			}
		}
		return fmt.Errorf("exempt flowschema conditions %v", fs.Status.Conditions)
	})
	within(t, 30*time.Second, func() error {
		h, err := headersOf(t, k.rest, "/api/v1/namespaces")
		if err != nil {
			return err
		}
		if fs, pl := h.Get(flowcontrolv1.ResponseHeaderMatchedFlowSchemaUID), h.Get(flowcontrolv1.ResponseHeaderMatchedPriorityLevelConfigurationUID); fs != string(exemptFS.UID) || pl != string(exemptPL.UID) {
			return fmt.Errorf("system:masters' request classified as flowschema %q, level %q; want exempt's %s, %s", fs, pl, exemptFS.UID, exemptPL.UID)
		}
		return nil
	})

	off := startKapi(t, func(c *server.Config) { c.EnablePriorityAndFairness = false })
	if h, err := headersOf(t, off.rest, "/api/v1/namespaces"); err != nil {
		t.Fatal(err)
	} else if h.Get(flowcontrolv1.ResponseHeaderMatchedFlowSchemaUID) != "" {
		t.Errorf("--enable-priority-and-fairness=false, yet the response names flowschema %q", h.Get(flowcontrolv1.ResponseHeaderMatchedFlowSchemaUID))
	}
}

// within retries f until it succeeds, or fails the test after d.
func within(t testing.TB, d time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func drain(resp *http.Response) {
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// headersOf GETs path as cfg's user and returns the response's header,
// or an error unless the answer is 200.
func headersOf(t testing.TB, cfg *rest.Config, path string) (http.Header, error) {
	t.Helper()
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Get(cfg.Host + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d", path, resp.StatusCode)
	}
	return resp.Header, nil
}

// overload is what happened to each client of runOverload.
type overload struct {
	noisyCodes      map[int]int
	noisyRetryAfter bool // every 429 had Retry-After
	masters         []time.Duration
	election        []time.Duration
	failures        []string // any error of the protected clients, any 5xx
}

// runOverload sends, for d, a noisy user's lists from 64 connections of
// their own to a priority level of 3 seats and 3 queued requests (ten
// times what it holds), while a system:masters client reads a ConfigMap
// and kube-controller-manager's leader election gets and updates its
// Lease, one request after another.
func runOverload(t testing.TB, k *kapi, d time.Duration) *overload {
	t.Helper()
	ctx := context.Background()
	noisyFS := noisyLevel(t, k)
	if _, err := k.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "target"},
		Data: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	noisyCfg := k.tokenConfig("alice-token")
	within(t, 30*time.Second, func() error {
		h, err := headersOf(t, noisyCfg, "/api/v1/namespaces/default/configmaps")
		if err != nil {
			return err
		}
		if got := h.Get(flowcontrolv1.ResponseHeaderMatchedFlowSchemaUID); got != string(noisyFS.UID) {
			return fmt.Errorf("alice's list classified as %q, want the noisy flowschema %s", got, noisyFS.UID)
		}
		return nil
	})
	election := k.asCertOf(t, "system:kube-controller-manager")
	lease, err := election.CoordinationV1().Leases("kube-system").Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-controller-manager"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	tlsCfg, err := rest.TLSConfigFor(noisyCfg)
	if err != nil {
		t.Fatal(err)
	}
	// HTTP/1.1: a connection per request in flight.
	noisyHTTP := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg, MaxIdleConnsPerHost: 64,
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}}
	defer noisyHTTP.CloseIdleConnections()
	out := &overload{noisyCodes: map[int]int{}, noisyRetryAfter: true}
	var mu sync.Mutex
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(out.failures) < 20 {
			out.failures = append(out.failures, fmt.Sprintf(format, args...))
		}
	}
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for time.Now().Before(stop) {
				req, _ := http.NewRequest(http.MethodGet, k.srv.URL+"/api/v1/namespaces/default/configmaps", nil)
				req.Header.Set("Authorization", "Bearer alice-token")
				resp, err := noisyHTTP.Do(req)
				if err != nil {
					fail("noisy: %v", err)
					continue
				}
				drain(resp)
				mu.Lock()
				out.noisyCodes[resp.StatusCode]++
				if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
					out.noisyRetryAfter = false
				}
				mu.Unlock()
				if resp.StatusCode >= 500 {
					fail("noisy: %d", resp.StatusCode)
				}
			}
		})
	}
	wg.Go(func() {
		for time.Now().Before(stop) {
			start := time.Now()
			if _, err := k.client.CoreV1().ConfigMaps("default").Get(ctx, "target", metav1.GetOptions{}); err != nil {
				fail("system:masters: %v", err)
				continue
			}
			mu.Lock()
			out.masters = append(out.masters, time.Since(start))
			mu.Unlock()
		}
	})
	wg.Go(func() {
		leases := election.CoordinationV1().Leases("kube-system")
		holder := "kcm-1"
		for time.Now().Before(stop) {
			start := time.Now()
			l, err := leases.Get(ctx, lease.Name, metav1.GetOptions{})
			if err == nil {
				now := metav1.NewMicroTime(time.Now())
				l.Spec.HolderIdentity, l.Spec.RenewTime = &holder, &now
				_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
			}
			if err != nil {
				fail("leader election: %v", err)
				continue
			}
			mu.Lock()
			out.election = append(out.election, time.Since(start))
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
		}
	})
	wg.Wait()
	return out
}

// noisyLevel gives alice (who may list ConfigMaps in default) a priority
// level of her own: 3 seats (600 x 1 share of 246, rounded up), one queue
// of 3, nothing borrowed or lent: 6 requests at once, where her 64
// connections send ten times as many.
func noisyLevel(t testing.TB, k *kapi) *flowcontrolv1.FlowSchema {
	t.Helper()
	ctx := context.Background()
	if _, err := k.client.RbacV1().RoleBindings("default").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "alice-view"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "view"},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "alice"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	shares, zero := int32(1), int32(0)
	fc := k.client.FlowcontrolV1()
	if _, err := fc.PriorityLevelConfigurations().Create(ctx, &flowcontrolv1.PriorityLevelConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "noisy"},
		Spec: flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementLimited,
			Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{NominalConcurrencyShares: &shares, LendablePercent: &zero,
				BorrowingLimitPercent: &zero,
				LimitResponse: flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeQueue,
					Queuing: &flowcontrolv1.QueuingConfiguration{Queues: 1, HandSize: 1, QueueLengthLimit: 3}}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	fs, err := fc.FlowSchemas().Create(ctx, &flowcontrolv1.FlowSchema{
		ObjectMeta: metav1.ObjectMeta{Name: "noisy"},
		Spec: flowcontrolv1.FlowSchemaSpec{
			PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "noisy"},
			MatchingPrecedence:         500,
			DistinguisherMethod:        &flowcontrolv1.FlowDistinguisherMethod{Type: flowcontrolv1.FlowDistinguisherMethodByUserType},
			Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
				Subjects: []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindUser, User: &flowcontrolv1.UserSubject{Name: "alice"}}},
				ResourceRules: []flowcontrolv1.ResourcePolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"},
					Resources: []string{"*"}, Namespaces: []string{"*"}}},
			}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// p returns the q-quantile of ds.
func p(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// TestPriorityAndFairnessOverload: one noisy user at ten times what her
// priority level holds, from 64 connections, gets 429s with Retry-After
// and some answers; system:masters and a leader-election client are
// never refused; nobody gets a 5xx. Their latencies are logged here and
// measured by BenchmarkPriorityAndFairnessOverload.
func TestPriorityAndFairnessOverload(t *testing.T) {
	t.Parallel()
	k := startKapi(t, func(c *server.Config) { c.TokenAuthFile = tokenFile(t) })
	o := runOverload(t, k, 5*time.Second)
	t.Logf("noisy codes %v; system:masters %d requests, p50 %v, p99 %v; leader election %d, p50 %v, p99 %v",
		o.noisyCodes, len(o.masters), p(o.masters, 0.5), p(o.masters, 0.99), len(o.election), p(o.election, 0.5), p(o.election, 0.99))
	if len(o.failures) > 0 {
		t.Errorf("failures: %q", o.failures)
	}
	if o.noisyCodes[http.StatusTooManyRequests] == 0 || o.noisyCodes[http.StatusOK] == 0 || !o.noisyRetryAfter {
		t.Errorf("noisy user's codes %v (Retry-After on every 429: %v): want both 200s and 429s", o.noisyCodes, o.noisyRetryAfter)
	}
	if len(o.masters) == 0 || len(o.election) == 0 {
		t.Errorf("system:masters made %d requests, leader election %d", len(o.masters), len(o.election))
	}
}

// BenchmarkPriorityAndFairnessOverload reports the protected clients'
// p99 latency under runOverload's noise (the goal: under 1 s).
func BenchmarkPriorityAndFairnessOverload(b *testing.B) {
	k := startKapi(b, func(c *server.Config) { c.TokenAuthFile = tokenFile(b) })
	b.ResetTimer()
	o := runOverload(b, k, time.Duration(b.N)*10*time.Second)
	b.StopTimer()
	if len(o.failures) > 0 {
		b.Errorf("failures: %q", o.failures)
	}
	b.ReportMetric(float64(p(o.masters, 0.99).Microseconds())/1000, "masters-p99-ms")
	b.ReportMetric(float64(p(o.election, 0.99).Microseconds())/1000, "election-p99-ms")
	b.ReportMetric(float64(o.noisyCodes[http.StatusTooManyRequests]), "noisy-429s")
	b.ReportMetric(float64(o.noisyCodes[http.StatusOK]), "noisy-200s")
}
