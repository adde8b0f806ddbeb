package admission

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
)

// Objects reads the objects of one resource for a plugin, as
// kube-apiserver's plugins read their informers' listers: Get answers a
// NotFound StatusError for a missing object; List lists a namespace (""
// for all, or a cluster-scoped resource). The objects may be shared with
// other readers: a plugin must not change them.
type Objects interface {
	Get(ctx context.Context, namespace, name string) (runtime.Object, error)
	List(ctx context.Context, namespace string) ([]runtime.Object, error)
}

// Forbidden is kube-apiserver's admission.NewForbidden: a Forbidden
// StatusError naming the object by the request's name, else the object's
// name or generateName, else "Unknown" (a name is not generated yet when
// mutating admission runs).
func Forbidden(a *Attributes, err error) error {
	if apierrors.IsForbidden(err) {
		return err
	}
	name := "Unknown"
	if a.Name != "" {
		name = a.Name
	} else if a.Object != nil {
		if m, merr := meta.Accessor(a.Object); merr == nil {
			if m.GetName() != "" {
				name = m.GetName()
			} else if m.GetGenerateName() != "" {
				name = m.GetGenerateName()
			}
		}
	}
	return apierrors.NewForbidden(a.Resource.GVR().GroupResource(), name, err)
}

// is reports whether a writes the resource group/resource itself (no
// subresource unless sub says which).
func is(a *Attributes, group, resource string) bool {
	return a.Resource != nil && a.Resource.Group == group && a.Resource.Name == resource
}
