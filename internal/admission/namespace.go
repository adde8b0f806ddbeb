package admission

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
)

// NamespaceLifecycle refuses to create objects in a namespace that does not
// exist (404) or is being deleted (403), as kube-apiserver's plugin of the
// same name.
type NamespaceLifecycle struct {
	// Get reads a namespace; the plugin does not change what it returns.
	Get func(ctx context.Context, name string) (runtime.Object, error)
}

// Validate checks creates of namespaced objects.
func (p NamespaceLifecycle) Validate(ctx context.Context, a *Attributes) error {
	if a.Operation != Create || a.Subresource != "" || !a.Resource.Namespaced {
		return nil
	}
	obj, err := p.Get(ctx, a.Namespace)
	if err != nil {
		return err
	}
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return fmt.Errorf("namespace %q is a %T", a.Namespace, obj)
	}
	if ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating {
		return apierrors.NewForbidden(a.Resource.GVR().GroupResource(), a.Name,
			fmt.Errorf("unable to create new content in namespace %s because it is being terminated", a.Namespace))
	}
	return nil
}
