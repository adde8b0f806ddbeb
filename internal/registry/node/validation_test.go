package node

import (
	"testing"

	nodev1 "k8s.io/api/node/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestRuntimeClassValidation: kube's ValidateRuntimeClass and its update.
func TestRuntimeClassValidation(t *testing.T) {
	rc := func(handler string) *nodev1.RuntimeClass {
		return &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "r"}, Handler: handler}
	}
	if errs := runtimeClassHooks.Validate(rc("runc"), nil); len(errs) > 0 {
		t.Errorf("runc: %v", errs)
	}
	if errs := runtimeClassHooks.Validate(rc("Bad Handler!"), nil); len(errs) == 0 || errs[0].Field != "handler" {
		t.Errorf("a handler that is no DNS label: %v", errs)
	}
	if errs := runtimeClassHooks.Validate(rc("kata"), rc("runc")); len(errs) != 1 || errs[0].Detail != "field is immutable" {
		t.Errorf("changing the handler: %v", errs)
	}
	bad := rc("runc")
	bad.Scheduling = &nodev1.Scheduling{NodeSelector: map[string]string{"a b": "c"}}
	if errs := runtimeClassHooks.Validate(bad, nil); len(errs) != 1 {
		t.Errorf("a bad node selector: %v", errs)
	}
}
