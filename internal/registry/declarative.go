package registry

import (
	"context"

	declarativeutil "k8s.io/apimachinery/pkg/api/validate"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Declared is kube's ValidateDeclarativelyWithMigrationChecks with
// DeclarativeValidationBeta on (kube 1.37's default), on the handwritten
// errors of a kind's validation and the errors of its declarative rules
// (all beta): the handwritten errors a declarative one covers go, and the
// declarative ones come last. It calls k8s.io/apimachinery's own filter,
// the standard one.
func Declared(handwritten, declarative field.ErrorList) field.ErrorList {
	declarative = declarative.MarkBeta()
	return append(declarativeutil.FilterCoveredHandwrittenErrors(context.Background(), handwritten, declarative, true), declarative...)
}
