package registry

import (
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

// ScaleSubresource shows and sets the desired replicas of an object
// through an autoscaling/v1 Scale, so that kubectl scale and autoscalers
// need not know the workload's type; the row's Type.Scale says where the
// replicas are.
var ScaleSubresource = &Subresource{
	Name: "scale", Kind: ScaleGVK, Verbs: getPatchUpdate,
	New: func() runtime.Object { return &autoscalingv1.Scale{} },
	View: func(r *Resource, obj runtime.Object) (runtime.Object, error) {
		return r.Type.Scale.Scale(obj)
	},
	Write: func(r *Resource, in, old runtime.Object) (runtime.Object, error) {
		scale, ok := in.(*autoscalingv1.Scale)
		if !ok {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("expected a Scale, got %T", in))
		}
		if scale.Spec.Replicas < 0 {
			return nil, apierrors.NewInvalid(ScaleGVK.GroupKind(), scale.Name, field.ErrorList{
				field.Invalid(field.NewPath("spec", "replicas"), scale.Spec.Replicas, "must be greater than or equal to 0")})
		}
		obj := old.DeepCopyObject()
		if err := r.Type.Scale.SetReplicas(obj, scale.Spec.Replicas); err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		return obj, nil
	},
	ChangesSpec: true,
}

// ScaleOf is the Scale of obj's identity, with the replicas and selector
// given: what every kind's Scale is made of.
func ScaleOf(obj metav1.Object, spec, status int32, selector string) *autoscalingv1.Scale {
	s := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: obj.GetName(), Namespace: obj.GetNamespace(), UID: obj.GetUID(),
		ResourceVersion: obj.GetResourceVersion(), CreationTimestamp: obj.GetCreationTimestamp()}}
	s.APIVersion, s.Kind = ScaleGVK.GroupVersion().String(), ScaleGVK.Kind
	s.Spec.Replicas, s.Status.Replicas, s.Status.Selector = spec, status, selector
	return s
}

// structScale is the scale of the built-in workloads (deployments,
// replicasets, statefulsets, replicationcontrollers), which share one
// shape: Spec.Replicas *int32, Status.Replicas int32, and Spec.Selector,
// a *metav1.LabelSelector or (replication controllers) a map of labels.
// The fields are found once, when the row's Type is made.
type structScale struct {
	spec, status       int // the Spec and Status fields
	replicas, selector int // in Spec: Replicas, and Selector (-1: none)
	statusReplicas     int // in Status: Replicas
}

func newStructScale(obj runtime.Object) (*structScale, bool) {
	t := reflect.TypeOf(obj)
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil, false
	}
	t = t.Elem()
	spec, ok1 := t.FieldByName("Spec")
	status, ok2 := t.FieldByName("Status")
	if !ok1 || !ok2 || spec.Type.Kind() != reflect.Struct || status.Type.Kind() != reflect.Struct {
		return nil, false
	}
	replicas, ok1 := spec.Type.FieldByName("Replicas")
	statusReplicas, ok2 := status.Type.FieldByName("Replicas")
	if !ok1 || !ok2 || replicas.Type != reflect.TypeOf((*int32)(nil)) || statusReplicas.Type != reflect.TypeOf(int32(0)) {
		return nil, false
	}
	s := &structScale{spec: spec.Index[0], status: status.Index[0], replicas: replicas.Index[0],
		statusReplicas: statusReplicas.Index[0], selector: -1}
	if sel, ok := spec.Type.FieldByName("Selector"); ok {
		s.selector = sel.Index[0]
	}
	return s, true
}

func (s *structScale) Scale(obj runtime.Object) (*autoscalingv1.Scale, error) {
	v := reflect.ValueOf(obj).Elem()
	spec, status := v.Field(s.spec), v.Field(s.status)
	// An unset spec.replicas means the default, 1.
	replicas := int32(1)
	if r := spec.Field(s.replicas).Interface().(*int32); r != nil {
		replicas = *r
	}
	selector := ""
	if s.selector >= 0 {
		switch sel := spec.Field(s.selector).Interface().(type) {
		case *metav1.LabelSelector:
			if sel != nil {
				ls, err := metav1.LabelSelectorAsSelector(sel)
				if err != nil {
					return nil, err
				}
				selector = ls.String()
			}
		case map[string]string:
			selector = labels.SelectorFromSet(sel).String()
		}
	}
	return ScaleOf(mustAccessor(obj), replicas, int32(status.Field(s.statusReplicas).Int()), selector), nil
}

func (s *structScale) SetReplicas(obj runtime.Object, replicas int32) error {
	reflect.ValueOf(obj).Elem().Field(s.spec).Field(s.replicas).Set(reflect.ValueOf(&replicas))
	return nil
}
