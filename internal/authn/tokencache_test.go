package authn

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	kubetokencache "k8s.io/apiserver/pkg/authentication/token/cache"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/component-base/metrics/legacyregistry"

	"kapi/internal/metrics"
	"kapi/internal/request"
)

// fakeTokens accepts "good" (as alice, annotating and warning), refuses
// "bad" with an error and does not know any other token; it counts its
// calls, by token and audiences.
type fakeTokens struct {
	mu    sync.Mutex
	calls map[string]int
	// block, when set, holds each call until it is closed.
	block chan struct{}
	panic bool
}

func (f *fakeTokens) AuthenticateToken(_ context.Context, token string, auds []string, use *TokenUse) (*request.User, bool, error) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[token+"|"+join(auds)]++
	f.mu.Unlock()
	if f.block != nil {
		<-f.block
	}
	if f.panic {
		panic("the authenticator fell over")
	}
	switch token {
	case "good":
		use.Annotate("example.com/token", "good for "+join(auds))
		use.Warn("good tokens are rare")
		return &request.User{Name: "alice", Groups: []string{"dev"}, Extra: map[string][]string{"k": {"v"}}}, true, nil
	case "bad":
		use.Annotate("example.com/token", "bad")
		return nil, false, errors.New("bad token")
	}
	return nil, false, nil
}

func (f *fakeTokens) count(token string, auds ...string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[token+"|"+join(auds)]
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ","
		}
		out += x
	}
	return out
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) step(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

var apiAudiences = []string{"https://kubernetes.default.svc.cluster.local"}

// newCache is kube-apiserver's cache in front of its token
// authenticators: successes for 10 s, failures not at all.
func newCache(f *fakeTokens, c *clock) *TokenCache {
	return NewTokenCache(f, TokenCacheOptions{SuccessTTL: 10 * time.Second, CacheErrors: true, Audiences: apiAudiences, Now: c.Now})
}

// sample reads one sample of a metric vector.
func sample(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var m dto.Metric
	if err := (<-ch).Write(&m); err != nil {
		t.Fatal(err)
	}
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return float64(m.Histogram.GetSampleCount())
}

func lookups(t *testing.T) (hits, misses float64) {
	return sample(t, tokenCacheRequests.WithLabelValues("hit")), sample(t, tokenCacheRequests.WithLabelValues("miss"))
}

// TestTokenCacheHit: the second use of a token is answered from memory,
// with the user, annotations and warnings of the first, and counted as
// kube counts it.
func TestTokenCacheHit(t *testing.T) {
	f, clk := &fakeTokens{}, &clock{now: time.Unix(1_800_000_000, 0)}
	c := newCache(f, clk)
	hits, misses := lookups(t)
	fetches := sample(t, tokenCacheFetches.WithLabelValues("ok"))
	var uses []TokenUse
	for range 3 {
		var use TokenUse
		u, ok, err := c.AuthenticateToken(context.Background(), "good", nil, &use)
		if !ok || err != nil || u.Name != "alice" || !slices.Equal(u.Groups, []string{"dev"}) || !slices.Equal(u.Extra["k"], []string{"v"}) {
			t.Fatalf("good: %+v %v %v", u, ok, err)
		}
		// A request may add to its user's groups: not to the cached one.
		u.Groups = append(u.Groups, request.AllAuthenticated)
		u.Extra["k2"] = nil
		uses = append(uses, use)
	}
	if n := f.count("good", apiAudiences...); n != 1 {
		t.Errorf("the authenticator was asked %d times, want once", n)
	}
	for i, use := range uses {
		if !slices.Equal(use.annotations, [][2]string{{"example.com/token", "good for " + apiAudiences[0]}}) ||
			!slices.Equal(use.warnings, []string{"good tokens are rare"}) {
			t.Errorf("use %d recorded %v %q, want the first's", i, use.annotations, use.warnings)
		}
	}
	h, m := lookups(t)
	if h-hits != 2 || m-misses != 1 {
		t.Errorf("counted %v hits and %v misses, want 2 and 1", h-hits, m-misses)
	}
	if n := sample(t, tokenCacheFetches.WithLabelValues("ok")) - fetches; n != 1 {
		t.Errorf("counted %v fetches, want 1", n)
	}
}

// TestTokenCacheTTL: an accepted token is remembered for the success TTL
// from when it was checked, then checked again.
func TestTokenCacheTTL(t *testing.T) {
	f, clk := &fakeTokens{}, &clock{now: time.Unix(1_800_000_000, 0)}
	c := newCache(f, clk)
	use := func() {
		t.Helper()
		if _, ok, err := c.AuthenticateToken(context.Background(), "good", nil, &TokenUse{}); !ok || err != nil {
			t.Fatalf("good: %v %v", ok, err)
		}
	}
	use()
	clk.step(10*time.Second - time.Nanosecond)
	use()
	if n := f.count("good", apiAudiences...); n != 1 {
		t.Fatalf("asked %d times within the TTL, want once", n)
	}
	clk.step(time.Nanosecond)
	use()
	if n := f.count("good", apiAudiences...); n != 2 {
		t.Fatalf("asked %d times once the TTL is over, want twice", n)
	}
	// Remembered again, from the second check.
	clk.step(9 * time.Second)
	use()
	if n := f.count("good", apiAudiences...); n != 2 {
		t.Errorf("asked %d times, want twice", n)
	}
}

// TestTokenCacheAudiences: the key is the token and the audiences; no
// audiences are the API audiences, as for a request or a TokenReview
// without audiences.
func TestTokenCacheAudiences(t *testing.T) {
	f, clk := &fakeTokens{}, &clock{now: time.Unix(1_800_000_000, 0)}
	c := newCache(f, clk)
	for _, auds := range [][]string{nil, apiAudiences, {}, {"vault"}, {"vault"}, {"va", "ult"}, {"vault", ""}} {
		var use TokenUse
		if _, ok, err := c.AuthenticateToken(context.Background(), "good", auds, &use); !ok || err != nil {
			t.Fatalf("%q: %v %v", auds, ok, err)
		}
		if want := "good for " + join(auds); len(auds) > 0 && (len(use.annotations) != 1 || use.annotations[0][1] != want) {
			t.Errorf("%q: the annotation of another key: %v", auds, use.annotations)
		}
	}
	for _, want := range []struct {
		auds []string
		n    int
	}{{apiAudiences, 1}, {[]string{"vault"}, 1}, {[]string{"va", "ult"}, 1}, {[]string{"vault", ""}, 1}} {
		if n := f.count("good", want.auds...); n != want.n {
			t.Errorf("audiences %q asked %d times, want %d", want.auds, n, want.n)
		}
	}
}

// TestTokenCacheFailures: kube's cache in front of the authenticators
// remembers no refused token, neither an unknown one nor a bad one; the
// webhook's remembers an unknown one, not an error.
func TestTokenCacheFailures(t *testing.T) {
	f, clk := &fakeTokens{}, &clock{now: time.Unix(1_800_000_000, 0)}
	c := newCache(f, clk)
	errorsBefore := sample(t, tokenCacheFetches.WithLabelValues("error"))
	for range 3 {
		var use TokenUse
		if u, ok, err := c.AuthenticateToken(context.Background(), "bad", nil, &use); ok || u != nil || err == nil || err.Error() != "bad token" {
			t.Errorf("bad: %v %v %v", u, ok, err)
		}
		if len(use.annotations) != 0 {
			t.Errorf("a refused token recorded %v", use.annotations)
		}
		if _, ok, err := c.AuthenticateToken(context.Background(), "unknown", nil, &use); ok || err != nil {
			t.Errorf("unknown: %v %v", ok, err)
		}
	}
	if f.count("bad", apiAudiences...) != 3 || f.count("unknown", apiAudiences...) != 3 {
		t.Errorf("refused tokens were remembered: %v", f.calls)
	}
	if n := sample(t, tokenCacheFetches.WithLabelValues("error")) - errorsBefore; n != 3 {
		t.Errorf("counted %v failed fetches, want 3", n)
	}

	hook := NewTokenCache(f, TokenCacheOptions{SuccessTTL: time.Minute, FailureTTL: time.Minute, Audiences: apiAudiences, Now: clk.Now})
	for range 3 {
		hook.AuthenticateToken(context.Background(), "bad", nil, &TokenUse{})
		hook.AuthenticateToken(context.Background(), "unknown", nil, &TokenUse{})
	}
	if f.count("bad", apiAudiences...) != 6 || f.count("unknown", apiAudiences...) != 4 {
		t.Errorf("the webhook's cache: %v, want errors asked each time, unknown tokens once", f.calls)
	}
}

// TestTokenCacheConcurrentMisses: callers missing one key at once wait
// for one check; a caller that goes away stops waiting, and the others
// still get the answer.
func TestTokenCacheConcurrentMisses(t *testing.T) {
	f := &fakeTokens{block: make(chan struct{})}
	c := NewTokenCache(f, TokenCacheOptions{SuccessTTL: time.Minute, Audiences: apiAudiences})
	blocked := tokenCacheActiveFetches.WithLabelValues("blocked")
	base := sample(t, blocked)
	const n = 8
	var wg sync.WaitGroup
	var accepted atomic.Int32
	for range n {
		wg.Go(func() {
			if u, ok, err := c.AuthenticateToken(context.Background(), "good", nil, &TokenUse{}); ok && err == nil && u.Name == "alice" {
				accepted.Add(1)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error)
	go func() {
		_, _, err := c.AuthenticateToken(ctx, "good", nil, &TokenUse{})
		gone <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); sample(t, blocked)-base < n+1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%v callers waiting, want %d", sample(t, blocked)-base, n+1)
		}
	}
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Errorf("the caller that went away: %v", err)
	}
	close(f.block)
	wg.Wait()
	if accepted.Load() != n || f.count("good", apiAudiences...) != 1 {
		t.Errorf("%d of %d callers accepted, the authenticator asked %d times; want all, once", accepted.Load(), n, f.count("good", apiAudiences...))
	}
	if got := sample(t, blocked) - base; got != 0 {
		t.Errorf("%v callers still counted as waiting", got)
	}
}

// TestTokenCachePanic: an authenticator's panic is an error, not a crash,
// and is not remembered.
func TestTokenCachePanic(t *testing.T) {
	f := &fakeTokens{panic: true}
	c := NewTokenCache(f, TokenCacheOptions{SuccessTTL: time.Minute, FailureTTL: time.Minute, CacheErrors: true, Audiences: apiAudiences})
	for range 2 {
		if _, ok, err := c.AuthenticateToken(context.Background(), "good", nil, &TokenUse{}); ok || !errors.Is(err, errTokenAuthnCrash) {
			t.Errorf("a panicking authenticator: %v %v", ok, err)
		}
	}
	if n := f.count("good", apiAudiences...); n != 2 {
		t.Errorf("asked %d times, want twice", n)
	}
}

// TestTokenStripeBound: a full stripe lets the entry that expires first
// go; expired entries go first.
func TestTokenStripeBound(t *testing.T) {
	var s tokenStripe
	now := time.Unix(1_800_000_000, 0)
	key := func(i int) tokenKey { return tokenKey{byte(i), byte(i >> 8), 1} }
	for i := range tokenCacheStripeSize {
		s.set(key(i), &tokenRecord{ok: true}, now.Add(time.Hour+time.Duration(i)*time.Second), now)
	}
	s.set(key(0), &tokenRecord{ok: true}, now.Add(2*time.Hour), now) // renewed: now the last to expire
	s.set(key(tokenCacheStripeSize), &tokenRecord{ok: true}, now.Add(time.Hour), now)
	if len(s.entries) != tokenCacheStripeSize {
		t.Fatalf("%d entries, want %d", len(s.entries), tokenCacheStripeSize)
	}
	for i, want := range map[int]bool{0: true, 1: false, 2: true, tokenCacheStripeSize: true} {
		if _, ok := s.get(key(i), now); ok != want {
			t.Errorf("entry %d kept: %v, want %v", i, ok, want)
		}
	}
	later := now.Add(time.Hour + 10*time.Second)
	s.set(key(5000), &tokenRecord{ok: true}, later.Add(time.Minute), later)
	// Gone: the entries 2 to 10 and the one added last, expired at later.
	if len(s.entries) != tokenCacheStripeSize-10+1 || len(s.queue) != len(s.entries) {
		t.Errorf("%d entries (%d queued) after the expired went, want %d", len(s.entries), len(s.queue), tokenCacheStripeSize-10+1)
	}
}

// TestTokenCacheServiceAccounts: behind the cache, a service-account
// token's second use gets the first's annotations and warning in its
// audit event and response, and is not counted or tracked again, as
// behind kube-apiserver's cache; a refused token gets nothing.
func TestTokenCacheServiceAccounts(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	w := newTokenWorld(t, now)
	cache := NewTokenCache(w.sa, TokenCacheOptions{SuccessTTL: 10 * time.Second, CacheErrors: true, Audiences: w.sa.Audiences, Now: func() time.Time { return now }})
	const subject = "system:serviceaccount:ns:bot"
	const warning = "Use tokens from the TokenRequest API or manually created secret-based tokens instead of auto-generated secret-based tokens."
	annotations := map[string]string{"authentication.k8s.io/legacy-token": subject, "authentication.k8s.io/legacy-token-autogenerated-secret": "auto"}
	for i, c := range []struct {
		inRecord bool
		counted  map[string]float64
		used     []string
	}{
		{counted: map[string]float64{"legacy": 1, "auto": 1}, used: []string{"ns/auto"}},
		{counted: map[string]float64{}},
		{inRecord: true, counted: map[string]float64{}}, // a TokenReview of it
	} {
		w.used = nil
		before := counters(t)
		ok, got, warnings := authenticateAudited(t, cache, w.tokens["auto"], c.inRecord)
		if !ok || !maps.Equal(got, annotations) || !slices.Equal(warnings, []string{warning}) {
			t.Errorf("use %d: %v, annotations %v, warnings %q", i, ok, got, warnings)
		}
		if d := delta(before, counters(t)); !maps.Equal(d, c.counted) || !slices.Equal(w.used, c.used) {
			t.Errorf("use %d: counted %v, tracked %v; want %v, %v", i, d, w.used, c.counted, c.used)
		}
	}
	for range 2 {
		if ok, got, warnings := authenticateAudited(t, cache, w.tokens["invalid"], false); ok || len(got) != 0 || len(warnings) != 0 {
			t.Errorf("invalidated: %v, annotations %v, warnings %q", ok, got, warnings)
		}
	}
}

// TestTokenCacheMetricFamilies: the metrics are kube's: the families
// k8s.io/apiserver's token cache registers, with their help, types,
// labels and buckets.
func TestTokenCacheMetricFamilies(t *testing.T) {
	kube := kubetokencache.New(authenticator.TokenFunc(func(context.Context, string) (*authenticator.Response, bool, error) {
		return &authenticator.Response{User: &user.DefaultInfo{Name: "alice"}}, true, nil
	}), false, time.Minute, 0)
	ours := NewTokenCache(&fakeTokens{}, TokenCacheOptions{SuccessTTL: time.Minute})
	for range 2 {
		kube.AuthenticateToken(context.Background(), "good")
		ours.AuthenticateToken(context.Background(), "good", nil, &TokenUse{})
	}
	families := func(g prometheus.Gatherer) map[string]*dto.MetricFamily {
		t.Helper()
		all, err := g.Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]*dto.MetricFamily{}
		for _, f := range all {
			if len(f.GetName()) > 27 && f.GetName()[:27] == "authentication_token_cache_" {
				out[f.GetName()] = f
			}
		}
		return out
	}
	want, got := families(legacyregistry.DefaultGatherer), families(metrics.Registry)
	if len(want) != 4 || !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want))) {
		t.Fatalf("families %v, want kube's %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	shape := func(f *dto.MetricFamily) (string, []string, []float64) {
		var labels []string
		var bounds []float64
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if !slices.Contains(labels, l.GetName()) {
					labels = append(labels, l.GetName())
				}
			}
			if m.Histogram != nil && bounds == nil {
				for _, b := range m.Histogram.Bucket {
					bounds = append(bounds, b.GetUpperBound())
				}
			}
		}
		slices.Sort(labels)
		return f.GetHelp() + " " + f.GetType().String(), labels, bounds
	}
	for name, f := range want {
		wh, wl, wb := shape(f)
		gh, gl, gb := shape(got[name])
		if gh != wh || !slices.Equal(gl, wl) || !slices.Equal(gb, wb) {
			t.Errorf("%s: %q %v %v, want kube's %q %v %v", name, gh, gl, gb, wh, wl, wb)
		}
	}
}
