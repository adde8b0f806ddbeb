package admission

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"kapi/internal/request"
)

func TestEventRateLimit(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now()) // no token comes back unless the test moves it
	p, err := newEventRateLimit([]byte(`{"apiVersion":"eventratelimit.admission.k8s.io/v1alpha1","kind":"Configuration",
		"limits":[{"type":"Namespace","qps":1,"burst":2},{"type":"User","qps":1,"burst":3}]}`), clk)
	if err != nil {
		t.Fatal(err)
	}
	events := row("v1/events", true)
	event := func(ns string) *Attributes {
		a := attrs(Create, events, "", &corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "e"}}, nil)
		a.User = &request.User{Name: "kubelet"}
		return a
	}
	ctx := context.Background()
	// The namespace's burst of 2, then a 429; another namespace has its
	// own bucket, until the user's burst of 3 is spent.
	for _, c := range []struct {
		ns, want string
	}{
		{"a", ""}, {"a", ""},
		{"a", "Too many requests: limit reached on type Namespace for key a"},
		{"b", "Too many requests: limit reached on type User for key kubelet"},
	} {
		wantErr(t, p.Validate(ctx, event(c.ns)), c.want, 429)
	}
	// A second later, each bucket has a token again.
	clk.Step(time.Second)
	if err := p.Validate(ctx, event("a")); err != nil {
		t.Fatalf("after a second: %v", err)
	}
	wantErr(t, p.Validate(ctx, event("a")), "Too many requests: [limit reached on type Namespace for key a, limit reached on type User for key kubelet]", 429)
	dry := event("c")
	dry.DryRun = true
	for range 5 {
		if err := p.Validate(ctx, dry); err != nil {
			t.Fatalf("a dry run was counted: %v", err)
		}
	}
	if err := p.Validate(ctx, attrs(Create, row("events.k8s.io/v1/events", true), "", &corev1.ConfigMap{}, nil)); err != nil {
		t.Fatalf("an events.k8s.io Event is not kube's plugin's: %v", err)
	}
	for config, want := range map[string]string{
		``: `limits: Invalid value: null: must not be empty`,
		`{"apiVersion":"eventratelimit.admission.k8s.io/v1alpha1","kind":"Configuration","limits":[{"type":"Pod","qps":0,"burst":1}]}`: `limits[0].type: Unsupported value: "Pod": supported values: "Namespace", "Server", "SourceAndObject", "User"`,
	} {
		if _, err := NewEventRateLimit([]byte(config)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("configuration %q: %v, want %q", config, err, want)
		}
	}
}
