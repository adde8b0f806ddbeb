package authz

import (
	"context"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"kapi/internal/request"
)

type fixed Decision

func (f fixed) Authorize(context.Context, Attributes) (Decision, string, error) {
	return Decision(f), "", nil
}

// TestInstrumentedDecisions: as kube-apiserver, only the terminal decision
// of the authorizer that made it counts, by its type and name; the
// system:masters shortcut and a NoOpinion do not.
func TestInstrumentedDecisions(t *testing.T) {
	value := func(typ, name, decision string) float64 {
		var m dto.Metric
		if err := decisions.WithLabelValues(typ, name, decision).Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetCounter().GetValue()
	}
	u := Union{Privileged{},
		Instrumented{Type: "Webhook", Name: "first", Authorizer: fixed(NoOpinion)},
		Instrumented{Type: "RBAC", Name: "rbac", Authorizer: fixed(Allow)}}
	ctx := context.Background()
	u.Authorize(ctx, Attributes{User: &request.User{Name: "admin", Groups: []string{request.SystemPrivileged}}})
	u.Authorize(ctx, Attributes{User: &request.User{Name: "alice"}})
	if v := value("RBAC", "rbac", "allowed"); v != 1 {
		t.Errorf("rbac allowed = %v, want 1", v)
	}
	for _, d := range []string{"allowed", "denied"} {
		if v := value("Webhook", "first", d); v != 0 {
			t.Errorf("the webhook's no opinion counts as %s: %v", d, v)
		}
	}
	Union{Instrumented{Type: "Webhook", Name: "second", Authorizer: fixed(Deny)}}.Authorize(ctx, Attributes{User: &request.User{Name: "bob"}})
	if v := value("Webhook", "second", "denied"); v != 1 {
		t.Errorf("webhook denied = %v, want 1", v)
	}
	if _, ok := (Instrumented{Authorizer: AlwaysAllow{}}).Unwrap().(AlwaysAllow); !ok {
		t.Errorf("Unwrap is not the authorizer")
	}
}
