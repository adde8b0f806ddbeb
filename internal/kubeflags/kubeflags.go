// Package kubeflags is kube-apiserver's command line as data: every flag
// of its --help, by section, with its kube type, default and help text,
// generated from the option types of k8s.io/apiserver and
// k8s.io/component-base and, for the flags only kube-apiserver's own
// packages define, from a list in genflags.go.
package kubeflags

//go:generate go run genflags.go

// Flag is one of kube-apiserver's flags as its --help shows it.
type Flag struct{ Name, Short, Type, Default, Usage string }

// Section is one of the --help's sections ("Generic flags", ...).
type Section struct {
	Name  string
	Flags []Flag
}
