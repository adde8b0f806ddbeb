// Package admission runs admission plugins, in a chain, on every write
// after decoding and before storage.
package admission

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
)

// Operation is what a write does.
type Operation string

const (
	Create  Operation = "CREATE"
	Update  Operation = "UPDATE"
	Delete  Operation = "DELETE"
	Connect Operation = "CONNECT"
)

// Attributes describe one write.
type Attributes struct {
	Operation   Operation
	Resource    *registry.Resource
	Subresource string
	Namespace   string
	Name        string
	// Object is the new object (nil for deletes); OldObject the stored one.
	Object, OldObject runtime.Object
	DryRun            bool
}

// Interface admits or rejects a write; a rejection is a Status error.
type Interface interface {
	Admit(ctx context.Context, a *Attributes) error
}

// Chain runs plugins in order and stops at the first rejection.
type Chain []Interface

// Admit runs every plugin.
func (c Chain) Admit(ctx context.Context, a *Attributes) error {
	for _, p := range c {
		if err := p.Admit(ctx, a); err != nil {
			return err
		}
	}
	return nil
}
