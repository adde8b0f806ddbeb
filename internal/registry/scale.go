package registry

import (
	"context"
	"fmt"
	"reflect"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ScaleGVK is what the scale subresource reads and writes.
var ScaleGVK = autoscalingv1.SchemeGroupVersion.WithKind("Scale")

// The scale subresource (deployments, replicasets, statefulsets,
// replicationcontrollers) shows and sets spec.replicas through an
// autoscaling/v1 Scale, so that kubectl scale and autoscalers need not
// know the workload's type. All four types share the shape it reads:
// Spec.Replicas *int32, Status.Replicas int32, and Spec.Selector, a
// *metav1.LabelSelector or (replication controllers) a map of labels; it
// is read by reflection rather than with a hook per row.

// GetScale reads ns/name and answers its Scale.
func (st *Store) GetScale(ctx context.Context, ns, name string, opts *metav1.GetOptions) (runtime.Object, error) {
	obj, err := st.Get(ctx, ns, name, opts)
	if err != nil {
		return nil, err
	}
	scale, err := scaleOf(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	return scale, nil
}

// scaleOf is the Scale of a workload: its identity and resourceVersion,
// spec.replicas, status.replicas and the selector as a string.
func scaleOf(obj runtime.Object) (*autoscalingv1.Scale, error) {
	spec, status, ok := specAndStatus(obj)
	if !ok {
		return nil, fmt.Errorf("%T has no spec and status to scale", obj)
	}
	m := mustAccessor(obj)
	s := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: m.GetName(), Namespace: m.GetNamespace(), UID: m.GetUID(),
		ResourceVersion: m.GetResourceVersion(), CreationTimestamp: m.GetCreationTimestamp()}}
	s.APIVersion, s.Kind = ScaleGVK.GroupVersion().String(), ScaleGVK.Kind
	// An unset spec.replicas means the default, 1.
	s.Spec.Replicas = 1
	if r, ok := spec.FieldByName("Replicas").Interface().(*int32); ok && r != nil {
		s.Spec.Replicas = *r
	}
	if r, ok := status.FieldByName("Replicas").Interface().(int32); ok {
		s.Status.Replicas = r
	}
	switch sel := spec.FieldByName("Selector").Interface().(type) {
	case *metav1.LabelSelector:
		if sel != nil {
			ls, err := metav1.LabelSelectorAsSelector(sel)
			if err != nil {
				return nil, err
			}
			s.Status.Selector = ls.String()
		}
	case map[string]string:
		s.Status.Selector = labels.SelectorFromSet(sel).String()
	}
	return s, nil
}

// specAndStatus are the Spec and Status fields of a typed object.
func specAndStatus(obj runtime.Object) (spec, status reflect.Value, ok bool) {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return spec, status, false
	}
	spec, status = v.Elem().FieldByName("Spec"), v.Elem().FieldByName("Status")
	ok = spec.IsValid() && status.IsValid() && spec.Kind() == reflect.Struct && spec.FieldByName("Replicas").IsValid()
	return spec, status, ok
}

// scaled computes the result of a write to the scale subresource: the
// stored object with spec.replicas from the Scale the write sends. A
// Scale naming a resourceVersion other than the stored one is a conflict,
// as for any update.
func (st *Store) scaled(ctx context.Context, name string, old runtime.Object, newObj UpdatedObject) (runtime.Object, error) {
	current, err := scaleOf(old)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	got, err := newObj(ctx, current)
	if err != nil {
		return nil, err
	}
	scale, ok := got.(*autoscalingv1.Scale)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("expected a Scale, got %T", got))
	}
	if scale.Name != name {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", scale.Name, name))
	}
	oldMeta := mustAccessor(old)
	if rv := scale.ResourceVersion; rv != "" && rv != oldMeta.GetResourceVersion() {
		return nil, apierrors.NewConflict(st.GroupResource(), name,
			fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
	}
	if scale.Spec.Replicas < 0 {
		return nil, apierrors.NewInvalid(ScaleGVK.GroupKind(), name, field.ErrorList{
			field.Invalid(field.NewPath("spec", "replicas"), scale.Spec.Replicas, "must be greater than or equal to 0")})
	}
	obj := old.DeepCopyObject()
	spec, _, _ := specAndStatus(obj)
	replicas := scale.Spec.Replicas
	spec.FieldByName("Replicas").Set(reflect.ValueOf(&replicas))
	m := mustAccessor(obj)
	if st.R.Generation && specChanged(obj, old) {
		m.SetGeneration(oldMeta.GetGeneration() + 1)
	}
	if h := st.R.Hooks; h != nil && h.PrepareForUpdate != nil {
		h.PrepareForUpdate(obj, old)
	}
	if h := st.R.Hooks; h != nil && h.Validate != nil {
		if errs := h.Validate(obj, old); len(errs) > 0 {
			return nil, apierrors.NewInvalid(st.R.GVK().GroupKind(), name, errs)
		}
	}
	return obj, nil
}
