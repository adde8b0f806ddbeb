package admission

import (
	"context"
	"errors"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// recorder records the operations it is called for, in both phases; a
// connectRecorder handles CONNECT.
type recorder struct {
	name  string
	calls *[]string
}

func (r recorder) Admit(_ context.Context, a *Attributes) error {
	*r.calls = append(*r.calls, r.name+" admit "+string(a.Operation))
	return nil
}

func (r recorder) Validate(_ context.Context, a *Attributes) error {
	*r.calls = append(*r.calls, r.name+" validate "+string(a.Operation))
	if o, ok := a.Object.(*corev1.PodExecOptions); ok && o.Command[0] == "rm" {
		return errors.New("no rm")
	}
	return nil
}

type connectRecorder struct{ recorder }

func (connectRecorder) HandlesConnect() bool { return true }

// A CONNECT reaches only the plugins that handle it (kube's webhooks and
// policies), named or not, in both phases, mutating first; the others
// still see every write.
func TestConnectReachesConnectHandlers(t *testing.T) {
	var calls []string
	c := &Chain{}
	c.Add(recorder{name: "plain", calls: &calls})
	c.AddNamed("ValidatingAdmissionWebhook", connectRecorder{recorder{name: "named", calls: &calls}})
	c.Add(connectRecorder{recorder{name: "bare", calls: &calls}})
	a := &Attributes{Resource: row("v1/pods", true), Subresource: "exec", Object: &corev1.PodExecOptions{Command: []string{"ls"}}}
	if err := c.Connect(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	want := []string{"named admit CONNECT", "bare admit CONNECT", "named validate CONNECT", "bare validate CONNECT"}
	if !slices.Equal(calls, want) {
		t.Errorf("calls %q, want %q", calls, want)
	}
	calls = nil
	a.Object = &corev1.PodExecOptions{Command: []string{"rm"}}
	if err := c.Connect(context.Background(), a); err == nil || err.Error() != "no rm" {
		t.Errorf("refused CONNECT: %v", err)
	}
	calls = nil
	if err := c.Validate(context.Background(), &Attributes{Operation: Create, Resource: row("v1/pods", true), Object: &corev1.Pod{}}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"plain validate CREATE", "named validate CREATE", "bare validate CREATE"}; !slices.Equal(calls, want) {
		t.Errorf("a create's calls %q, want %q", calls, want)
	}
	var nilChain *Chain
	if err := nilChain.Connect(context.Background(), a); err != nil {
		t.Errorf("no chain: %v", err)
	}
}
