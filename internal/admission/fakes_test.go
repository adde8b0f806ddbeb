package admission

import (
	"context"
	"sort"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kapi/internal/registry"
	"kapi/internal/request"
)

// fakeObjects is an Objects over fixed objects of one resource.
type fakeObjects struct {
	gr   schema.GroupResource
	objs []runtime.Object
	// gets counts Get calls.
	gets int
}

func objects(resource string, objs ...runtime.Object) *fakeObjects {
	group, res, _ := strings.Cut(resource, "/")
	if res == "" {
		group, res = "", group
	}
	return &fakeObjects{gr: schema.GroupResource{Group: group, Resource: res}, objs: objs}
}

func (f *fakeObjects) Get(_ context.Context, ns, name string) (runtime.Object, error) {
	f.gets++
	for _, o := range f.objs {
		m, _ := meta.Accessor(o)
		if m.GetNamespace() == ns && m.GetName() == name {
			return o, nil
		}
	}
	return nil, apierrors.NewNotFound(f.gr, name)
}

func (f *fakeObjects) List(_ context.Context, ns string) ([]runtime.Object, error) {
	var out []runtime.Object
	for _, o := range f.objs {
		m, _ := meta.Accessor(o)
		if ns == "" || m.GetNamespace() == ns {
			out = append(out, o)
		}
	}
	return out, nil
}

// row is a catalogue row for group/version/resource.
func row(gvr string, namespaced bool) *registry.Resource {
	parts := strings.Split(gvr, "/")
	if len(parts) == 2 {
		parts = append([]string{""}, parts...)
	}
	return &registry.Resource{Group: parts[0], Version: parts[1], Name: parts[2], Namespaced: namespaced}
}

var (
	podsRow       = row("v1/pods", true)
	namespacesRow = row("v1/namespaces", false)
)

// attrs builds the Attributes of a write of obj (old: the stored object).
func attrs(op Operation, r *registry.Resource, sub string, obj, old runtime.Object) *Attributes {
	a := &Attributes{Operation: op, Resource: r, Subresource: sub, Object: obj, OldObject: old,
		User: &request.User{Name: "alice", Groups: []string{request.AllAuthenticated}}}
	for _, o := range []runtime.Object{obj, old} {
		if o == nil {
			continue
		}
		if m, err := meta.Accessor(o); err == nil {
			a.Namespace, a.Name = m.GetNamespace(), m.GetName()
			break
		}
	}
	return a
}

// wantErr checks err against want: "" for none, else a part of its
// message; code, when not 0, is its HTTP status.
func wantErr(t *testing.T, err error, want string, code int32) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want == "":
		return
	case err == nil:
		t.Fatalf("no error, want %q", want)
	case !strings.Contains(err.Error(), want):
		t.Fatalf("error %q, want %q", err, want)
	}
	if code != 0 {
		se, ok := err.(apierrors.APIStatus)
		if !ok || se.Status().Code != code {
			t.Fatalf("error %#v, want code %d", err, code)
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
