package admission

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// immortalNamespaces may never be deleted, as kube-apiserver's
// NamespaceLifecycle registers them.
var immortalNamespaces = []string{metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic}

// NamespaceLifecycle is kube-apiserver's plugin of the same name, in the
// mutating phase as there: it refuses to delete the immortal namespaces
// (default, kube-system, kube-public), and to create objects in a
// namespace that does not exist (404) or is being deleted (403).
// Updates and deletes of other objects pass, and so do access reviews
// (LocalSubjectAccessReview) in any namespace: answering NotFound would
// tell who may not see a namespace that it exists.
type NamespaceLifecycle struct {
	// Get reads a namespace; the plugin does not change what it returns.
	Get func(ctx context.Context, name string) (runtime.Object, error)
}

// Admit checks the write.
func (p NamespaceLifecycle) Admit(ctx context.Context, a *Attributes) error {
	isNamespace := is(a, "", "namespaces")
	if a.Operation == Delete && isNamespace && slices.Contains(immortalNamespaces, a.Name) {
		return apierrors.NewForbidden(a.Resource.GVR().GroupResource(), a.Name, fmt.Errorf("this namespace may not be deleted"))
	}
	if isNamespace || a.Namespace == "" || a.Operation != Create {
		return nil
	}
	if is(a, "authorization.k8s.io", "localsubjectaccessreviews") {
		return nil
	}
	obj, err := p.Get(ctx, a.Namespace)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return err
		}
		return apierrors.NewInternalError(err)
	}
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return apierrors.NewInternalError(fmt.Errorf("namespace %q is a %T", a.Namespace, obj))
	}
	if ns.Status.Phase != corev1.NamespaceTerminating && ns.DeletionTimestamp == nil {
		return nil
	}
	err = Forbidden(a, fmt.Errorf("unable to create new content in namespace %s because it is being terminated", a.Namespace))
	if se, ok := err.(*apierrors.StatusError); ok && se.ErrStatus.Details != nil {
		se.ErrStatus.Details.Causes = append(se.ErrStatus.Details.Causes, metav1.StatusCause{
			Type:    corev1.NamespaceTerminatingCause,
			Message: fmt.Sprintf("namespace %s is being terminated", a.Namespace),
			Field:   "metadata.namespace",
		})
	}
	return err
}
