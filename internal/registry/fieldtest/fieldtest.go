// Package fieldtest renders the validation errors of the registry's
// tests, which compare them as text: Paths for where and of what type
// (a case's gist), Lines for kube's whole messages.
package fieldtest

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Paths is each error's "path: Type", joined with "; ".
func Paths(errs field.ErrorList) string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Field + ": " + e.Type.String()
	}
	return strings.Join(out, "; ")
}

// Lines is each error as kube-apiserver prints it, one a line.
func Lines(errs field.ErrorList) string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Error()
	}
	return strings.Join(out, "\n")
}
