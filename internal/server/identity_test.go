package server

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	genericserver "k8s.io/apiserver/pkg/server"
)

// TestDefaultAPIServerID: this host's identity is the one kube's own
// server configuration gives it.
func TestDefaultAPIServerID(t *testing.T) {
	id, err := DefaultAPIServerID()
	if err != nil {
		t.Fatal(err)
	}
	want := genericserver.NewConfig(serializer.NewCodecFactory(runtime.NewScheme())).APIServerID
	if id != want {
		t.Fatalf("DefaultAPIServerID() = %q, kube's is %q", id, want)
	}
}
