package controllers

import (
	"context"
	"testing"
	"time"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
)

// ensureOnce runs one pass of the ensurer over a fake clientset holding
// objs, once its informers have them, and returns the clientset.
func ensureOnce(t *testing.T, objs ...runtime.Object) *fake.Clientset {
	t.Helper()
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	b := NewFlowControlBootstrap(client.FlowcontrolV1(), factory.Flowcontrol().V1())
	defer factory.Shutdown() // after cancel: it waits for the informers to stop
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), b.synced...) {
		t.Fatal("informers never synced")
	}
	if err := b.ensure(ctx); err != nil {
		t.Fatalf("ensure: %v", err)
	}
	return client
}

func getFS(t *testing.T, c *fake.Clientset, name string) *flowcontrolv1.FlowSchema {
	t.Helper()
	fs, err := c.FlowcontrolV1().FlowSchemas().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("flowschema %s: %v", name, err)
	}
	return fs
}

func getPL(t *testing.T, c *fake.Clientset, name string) *flowcontrolv1.PriorityLevelConfiguration {
	t.Helper()
	pl, err := c.FlowcontrolV1().PriorityLevelConfigurations().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("prioritylevelconfiguration %s: %v", name, err)
	}
	return pl
}

// TestFlowControlBootstrapCreates: from nothing, every mandatory and
// suggested object of kube's bootstrap configuration.
func TestFlowControlBootstrapCreates(t *testing.T) {
	c := ensureOnce(t)
	for _, fs := range append(bootstrap.MandatoryFlowSchemas, bootstrap.SuggestedFlowSchemas...) {
		if got := getFS(t, c, fs.Name); got.Spec.PriorityLevelConfiguration.Name != fs.Spec.PriorityLevelConfiguration.Name {
			t.Errorf("flowschema %s points at %q, want %q", fs.Name, got.Spec.PriorityLevelConfiguration.Name, fs.Spec.PriorityLevelConfiguration.Name)
		}
	}
	for _, pl := range append(bootstrap.MandatoryPriorityLevelConfigurations, bootstrap.SuggestedPriorityLevelConfigurations...) {
		if got := getPL(t, c, pl.Name); got.Spec.Type != pl.Spec.Type {
			t.Errorf("priority level %s is %s, want %s", pl.Name, got.Spec.Type, pl.Spec.Type)
		}
	}
}

// changed is a copy of a bootstrap FlowSchema with another precedence,
// the given annotations and generation.
func changed(fs *flowcontrolv1.FlowSchema, ann map[string]string, generation int64) *flowcontrolv1.FlowSchema {
	out := fs.DeepCopy()
	out.Spec.MatchingPrecedence += 7
	out.Annotations = ann
	out.Generation = generation
	return out
}

// TestFlowControlBootstrapRevises: a mandatory object's spec is put back
// whatever its annotation; a suggested one only while it says true or,
// without it, while nobody changed it; the annotation is set to what
// holds.
func TestFlowControlBootstrapRevises(t *testing.T) {
	mandatory := bootstrap.MandatoryFlowSchemaCatchAll
	optedOut, edited, untouched := bootstrap.SuggestedFlowSchemaGlobalDefault, bootstrap.SuggestedFlowSchemaServiceAccounts, bootstrap.SuggestedFlowSchemaProbes
	key := flowcontrolv1.AutoUpdateAnnotationKey
	c := ensureOnce(t,
		changed(mandatory, map[string]string{key: "false"}, 3),
		changed(optedOut, map[string]string{key: "false"}, 2),
		changed(edited, nil, 2),
		changed(untouched, nil, 1),
	)
	cases := []struct {
		name       string
		precedence int32
		annotation string
	}{
		{mandatory.Name, mandatory.Spec.MatchingPrecedence, "true"},
		{optedOut.Name, optedOut.Spec.MatchingPrecedence + 7, "false"},
		{edited.Name, edited.Spec.MatchingPrecedence + 7, "false"},
		{untouched.Name, untouched.Spec.MatchingPrecedence, "true"},
	}
	for _, tc := range cases {
		got := getFS(t, c, tc.name)
		if got.Spec.MatchingPrecedence != tc.precedence || got.Annotations[key] != tc.annotation {
			t.Errorf("%s: precedence %d, annotation %q; want %d, %q", tc.name, got.Spec.MatchingPrecedence, got.Annotations[key],
				tc.precedence, tc.annotation)
		}
	}
}

// TestFlowControlBootstrapExemptShares: the exempt level's shares and
// lendable percent are the admin's; the rest of a mandatory spec is not.
func TestFlowControlBootstrapExemptShares(t *testing.T) {
	exempt := bootstrap.MandatoryPriorityLevelConfigurationExempt.DeepCopy()
	shares, lendable := int32(42), int32(10)
	exempt.Spec.Exempt.NominalConcurrencyShares, exempt.Spec.Exempt.LendablePercent = &shares, &lendable
	catchAll := bootstrap.MandatoryPriorityLevelConfigurationCatchAll.DeepCopy()
	other := int32(99)
	catchAll.Spec.Limited.NominalConcurrencyShares = &other
	c := ensureOnce(t, exempt, catchAll)
	if got := getPL(t, c, exempt.Name).Spec.Exempt; *got.NominalConcurrencyShares != shares || *got.LendablePercent != lendable {
		t.Errorf("exempt shares %d, lendable %d: want the admin's %d, %d", *got.NominalConcurrencyShares, *got.LendablePercent, shares, lendable)
	}
	want := *bootstrap.MandatoryPriorityLevelConfigurationCatchAll.Spec.Limited.NominalConcurrencyShares
	if got := getPL(t, c, catchAll.Name).Spec.Limited; *got.NominalConcurrencyShares != want {
		t.Errorf("catch-all shares %d, want kube's %d back", *got.NominalConcurrencyShares, want)
	}
}

// TestFlowControlBootstrapRemovesUnwanted: an object that is no longer a
// bootstrap one goes if its annotation says true; a user's stays.
func TestFlowControlBootstrapRemovesUnwanted(t *testing.T) {
	fs := func(name string, ann map[string]string) *flowcontrolv1.FlowSchema {
		out := bootstrap.SuggestedFlowSchemaGlobalDefault.DeepCopy()
		out.Name, out.Annotations = name, ann
		return out
	}
	c := ensureOnce(t,
		fs("retired", map[string]string{flowcontrolv1.AutoUpdateAnnotationKey: "true"}),
		fs("users-own", nil),
		fs("pinned", map[string]string{flowcontrolv1.AutoUpdateAnnotationKey: "false"}),
	)
	if _, err := c.FlowcontrolV1().FlowSchemas().Get(context.Background(), "retired", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("retired bootstrap flowschema: %v, want it deleted", err)
	}
	getFS(t, c, "users-own")
	getFS(t, c, "pinned")
}
