package registry

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/storage"
)

// Admission is what a write asks before it stores anything, in kube's two
// phases. The endpoints make one per request (who asks, with which
// options); the store calls it from the two functions below and nowhere
// else.
//
// obj is the object to write (nil for a delete), old the stored one (nil
// for a create); for a write of a subresource with a view of its own
// (scale), both are views.
type Admission interface {
	// Mutate may change obj, or answer another object in its place.
	Mutate(ctx context.Context, obj, old runtime.Object) (runtime.Object, error)
	// Validate may only refuse: obj is final. What it charges to other
	// objects (a quota's usage) is written in the same transaction as
	// obj.
	Validate(ctx context.Context, obj, old runtime.Object) ([]storage.Charge, error)
}

// mutate runs mutating admission on obj, which the row has prepared (its
// defaults set): an object admission answers in place of obj (a webhook's
// patch) is prepared again, as kube-apiserver defaults a patched object.
func mutate(ctx context.Context, adm Admission, obj, old runtime.Object, prepare func(runtime.Object) error) (runtime.Object, error) {
	if adm == nil {
		return obj, nil
	}
	out, err := adm.Mutate(ctx, obj, old)
	if err != nil {
		return nil, err
	}
	if out != obj && prepare != nil {
		if err := prepare(out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// validate runs validating admission on the final object of a write.
func validate(ctx context.Context, adm Admission, obj, old runtime.Object) ([]storage.Charge, error) {
	if adm == nil {
		return nil, nil
	}
	return adm.Validate(ctx, obj, old)
}
