package registry

import (
	"reflect"

	"k8s.io/apimachinery/pkg/runtime"
)

// structStatus is the status of a Go type: the field Status of its
// struct. Every other field but TypeMeta and ObjectMeta is its "spec"
// (Spec, or Data, Rules, Subsets... for kinds without a Spec).
type structStatus struct {
	status int   // index of the Status field
	spec   []int // indexes of the fields a status write keeps from the stored object
}

// newStructStatus finds the Status field of obj's struct.
func newStructStatus(obj runtime.Object) (*structStatus, bool) {
	t := reflect.TypeOf(obj)
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil, false
	}
	t = t.Elem()
	f, ok := t.FieldByName("Status")
	if !ok || len(f.Index) != 1 {
		return nil, false
	}
	s := &structStatus{status: f.Index[0]}
	for i := 0; i < t.NumField(); i++ {
		switch t.Field(i).Name {
		case "TypeMeta", "ObjectMeta", "Status":
		default:
			s.spec = append(s.spec, i)
		}
	}
	return s, true
}

func structField(obj runtime.Object, i int) reflect.Value {
	return reflect.ValueOf(obj).Elem().Field(i)
}

func (s *structStatus) Reset(obj runtime.Object) {
	f := structField(obj, s.status)
	f.Set(reflect.Zero(f.Type()))
}

func (s *structStatus) Keep(obj, old runtime.Object) {
	structField(obj, s.status).Set(structField(old.DeepCopyObject(), s.status))
}

// Write keeps obj's metadata and status, and old's spec: kube-apiserver's
// status strategies reset the spec and let a status write change labels,
// annotations and the rest of the metadata (kubectl patch
// --subresource=status of a namespace's annotations takes effect). A
// kind whose status strategy resets more says so on its status entry
// (StatusSubresource).
func (s *structStatus) Write(obj, old runtime.Object) runtime.Object {
	o := old.DeepCopyObject()
	for _, i := range s.spec {
		structField(obj, i).Set(structField(o, i))
	}
	return obj
}

func (s *structStatus) WriteResets() []string { return []string{"spec"} }
