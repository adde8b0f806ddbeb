package authn

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"kapi/internal/audit"
	"kapi/internal/metrics"
	"kapi/internal/request"
)

const testIssuer = "https://kubernetes.default.svc.cluster.local"

// tokenWorld is a namespace "ns" with a service account "bot" (uid
// sa-uid) listing the Secret "auto", and token Secrets "auto" and
// "manual" (and "invalid", marked invalid) holding legacy tokens.
type tokenWorld struct {
	sa      *ServiceAccounts
	secrets map[string]map[string]string // name: labels
	tokens  map[string]string            // secret name: token
	used    []string                     // Secrets labelled as used
}

func newTokenWorld(t *testing.T, now time.Time) *tokenWorld {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	w := &tokenWorld{tokens: map[string]string{}, secrets: map[string]map[string]string{
		"auto": {}, "manual": {}, "invalid": {legacyTokenInvalidSince: "2020-01-01"}}}
	w.sa = &ServiceAccounts{Issuers: []string{testIssuer}, Audiences: []string{testIssuer}, Keys: StaticKeys{key.Public()}, Signer: signer,
		Now: func() time.Time { return now },
		Lookup: func(_ context.Context, kind, ns, name string) (string, bool, error) {
			switch {
			case kind == "ServiceAccount" && ns == "ns" && name == "bot":
				return "sa-uid", true, nil
			case kind == "Pod" && ns == "ns" && name == "web":
				return "pod-uid", true, nil
			}
			return "", false, nil
		},
		LegacySecret: func(_ context.Context, ns, name string) ([]byte, map[string]string, bool, error) {
			labels, ok := w.secrets[name]
			return []byte(w.tokens[name]), labels, ok && ns == "ns", nil
		},
		LegacyServiceAccount: func(_ context.Context, ns, name string) (string, []string, bool, error) {
			return "sa-uid", []string{"auto"}, ns == "ns" && name == "bot", nil
		},
		LegacyTokenUsed: func(_ context.Context, ns, name, date string) error {
			w.used = append(w.used, ns+"/"+name)
			return nil
		},
	}
	for name := range w.secrets {
		if w.tokens[name], err = LegacyToken(context.Background(), signer, "ns", "bot", "sa-uid", name); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// counters reads the service-account token counters.
func counters(t *testing.T) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, c := range []struct {
		name string
		c    prometheus.Counter
	}{
		{"legacy", legacyTokensTotal.WithLabelValues()}, {"stale", staleTokensTotal.WithLabelValues()},
		{"valid", validTokensTotal.WithLabelValues()}, {"manual", manualLegacyTokensTotal.WithLabelValues()},
		{"auto", autoLegacyTokensTotal.WithLabelValues()}, {"invalid", invalidLegacyTokensTotal.WithLabelValues()},
	} {
		var m dto.Metric
		if err := c.c.Write(&m); err != nil {
			t.Fatal(err)
		}
		out[c.name] = m.GetCounter().GetValue()
	}
	return out
}

// delta is after - before, without the zeroes.
func delta(before, after map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// authenticateAudited authenticates token as a request audited at
// Metadata (its event made after authentication, as the audit filter
// makes it) and returns the result, the event's annotations and the
// warnings the request got. With inRecord, the event is made first, as
// for a TokenReview.
func authenticateAudited(t *testing.T, sa TokenAuthenticator, token string, inRecord bool) (ok bool, annotations map[string]string, warnings []string) {
	t.Helper()
	dir := t.TempDir()
	policy, log := filepath.Join(dir, "policy.yaml"), filepath.Join(dir, "audit.log")
	if err := os.WriteFile(policy, []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := audit.DefaultOptions()
	o.PolicyFile, o.LogPath = policy, log
	a, err := audit.New(o)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/api/v1/namespaces/ns/pods", nil)
	ctx := request.WithWarnings(request.WithAuditID(r.Context(), "id-1"),
		func(text string) { warnings = append(warnings, text) })
	r = r.WithContext(ctx)
	newRecord := func() *audit.Record {
		return a.NewRecord(r, "id-1", time.Now(), a.Evaluate(nil, request.Parse(r)))
	}
	var rec *audit.Record
	if inRecord {
		rec = newRecord()
		ctx = audit.WithRecord(ctx, rec)
	}
	_, _, ok, _ = AuthenticateToken(ctx, sa, token, nil)
	if !inRecord {
		rec = newRecord()
	}
	rec.Stage(auditv1.StageResponseComplete)
	if err := a.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ev auditv1.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		annotations = ev.Annotations
	}
	return ok, annotations, warnings
}

// TestServiceAccountTokenUse: each kind of service-account token, used,
// is counted, annotated in the request's audit event and (an
// auto-generated legacy one) warned about as by kube-apiserver 1.37.
func TestServiceAccountTokenUse(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	w := newTokenWorld(t, now)
	extended := func(warnAfter time.Time) string {
		tok, _, err := w.sa.IssueAt(context.Background(), Token{Namespace: "ns", ServiceAccount: "bot", ServiceAccountUID: "sa-uid",
			Expiration: 365 * 24 * time.Hour, BoundKind: "Pod", Bound: Ref{Name: "web", UID: "pod-uid"}, WarnAfter: warnAfter},
			now.Add(-2*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	bound, _, err := w.sa.IssueAt(context.Background(), Token{Namespace: "ns", ServiceAccount: "bot", ServiceAccountUID: "sa-uid", Expiration: time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	const subject = "system:serviceaccount:ns:bot"
	const warning = "Use tokens from the TokenRequest API or manually created secret-based tokens instead of auto-generated secret-based tokens."
	for _, c := range []struct {
		name        string
		token       string
		inRecord    bool
		ok          bool
		annotations map[string]string
		warnings    []string
		counted     map[string]float64
		used        []string
	}{
		{name: "auto-generated legacy", token: w.tokens["auto"], ok: true,
			annotations: map[string]string{"authentication.k8s.io/legacy-token": subject, "authentication.k8s.io/legacy-token-autogenerated-secret": "auto"},
			warnings:    []string{warning}, counted: map[string]float64{"legacy": 1, "auto": 1}, used: []string{"ns/auto"}},
		{name: "auto-generated legacy, in a TokenReview", token: w.tokens["auto"], inRecord: true, ok: true,
			annotations: map[string]string{"authentication.k8s.io/legacy-token": subject, "authentication.k8s.io/legacy-token-autogenerated-secret": "auto"},
			warnings:    []string{warning}, counted: map[string]float64{"legacy": 1, "auto": 1}, used: []string{"ns/auto"}},
		{name: "manual legacy", token: w.tokens["manual"], ok: true,
			annotations: map[string]string{"authentication.k8s.io/legacy-token": subject, "authentication.k8s.io/legacy-token-manual-secret": "manual"},
			counted:     map[string]float64{"legacy": 1, "manual": 1}, used: []string{"ns/manual"}},
		// Refused: counted, labelled as used, but (as behind kube's token
		// cache) not annotated.
		{name: "invalidated legacy", token: w.tokens["invalid"],
			counted: map[string]float64{"legacy": 1, "invalid": 1}, used: []string{"ns/invalid"}},
		{name: "extended, stale", token: extended(now.Add(-42 * time.Second)), ok: true,
			annotations: map[string]string{"authentication.k8s.io/stale-token": "subject: " + subject + ", seconds after warning threshold: 42"},
			counted:     map[string]float64{"stale": 1}},
		{name: "extended, at its warnafter", token: extended(now), ok: true, counted: map[string]float64{"valid": 1}},
		{name: "extended, fresh", token: extended(now.Add(time.Hour)), ok: true, counted: map[string]float64{"valid": 1}},
		{name: "bound", token: bound, ok: true, counted: map[string]float64{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w.used = nil
			before := counters(t)
			ok, annotations, warnings := authenticateAudited(t, w.sa, c.token, c.inRecord)
			if ok != c.ok {
				t.Errorf("accepted: %v, want %v", ok, c.ok)
			}
			if !maps.Equal(annotations, c.annotations) {
				t.Errorf("annotations %v, want %v", annotations, c.annotations)
			}
			if !slices.Equal(warnings, c.warnings) {
				t.Errorf("warnings %q, want %q", warnings, c.warnings)
			}
			if got := delta(before, counters(t)); !maps.Equal(got, c.counted) {
				t.Errorf("counted %v, want %v", got, c.counted)
			}
			if !slices.Equal(w.used, c.used) {
				t.Errorf("labelled as used: %v, want %v", w.used, c.used)
			}
		})
	}
}

// TestServiceAccountTokenMetricNames: the metrics are kube's, with its
// help texts and stability levels, served at 0 before any use.
func TestServiceAccountTokenMetricNames(t *testing.T) {
	want := map[string]string{
		"serviceaccount_legacy_tokens_total":                  "[BETA] Cumulative legacy service account tokens used",
		"serviceaccount_stale_tokens_total":                   "[BETA] Cumulative stale projected service account tokens used",
		"serviceaccount_valid_tokens_total":                   "[BETA] Cumulative valid projected service account tokens used",
		"serviceaccount_legacy_manual_token_uses_total":       "[ALPHA] Cumulative manually created legacy tokens used",
		"serviceaccount_legacy_auto_token_uses_total":         "[ALPHA] Cumulative auto-generated legacy tokens used",
		"serviceaccount_invalid_legacy_auto_token_uses_total": "[ALPHA] Cumulative invalid auto-generated legacy tokens used",
	}
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range families {
		if _, ok := want[f.GetName()]; !ok {
			continue
		}
		got[f.GetName()] = f.GetHelp()
		if f.GetType() != dto.MetricType_COUNTER || len(f.Metric) != 1 || len(f.Metric[0].Label) != 0 {
			t.Errorf("%s: a %v with %d samples (%v), want one unlabelled counter", f.GetName(), f.GetType(), len(f.Metric), f.Metric)
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("served %v, want %v", got, want)
	}
}

// TestLegacyTokensWithoutLookup: with --service-account-lookup=false a
// legacy token is taken on its signature and claims, as kube's legacy
// validator without lookup takes it: its Secret gone, it still
// authenticates, and nothing is read, tracked or annotated but its being
// legacy.
func TestLegacyTokensWithoutLookup(t *testing.T) {
	w := newTokenWorld(t, time.Now())
	delete(w.secrets, "manual")
	if ok, _, _ := authenticateAudited(t, w.sa, w.tokens["manual"], false); ok {
		t.Fatal("a legacy token whose Secret is gone was taken with the lookup on")
	}
	w.sa.NoLegacyLookup = true
	w.sa.LegacySecret = func(context.Context, string, string) ([]byte, map[string]string, bool, error) {
		t.Error("the Secret was read")
		return nil, nil, false, nil
	}
	ok, annotations, warnings := authenticateAudited(t, w.sa, w.tokens["manual"], false)
	if !ok || len(warnings) != 0 || len(w.used) != 0 {
		t.Errorf("without the lookup: ok %v, warnings %v, tracked %v", ok, warnings, w.used)
	}
	if len(annotations) != 1 || annotations["authentication.k8s.io/legacy-token"] == "" {
		t.Errorf("annotations %v, want only authentication.k8s.io/legacy-token", annotations)
	}
}
