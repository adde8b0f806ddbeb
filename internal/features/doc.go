// Package features holds kube-apiserver's feature gates (--feature-gates):
// kube 1.37's table of them, checked as kube checks a setting, and asked
// by the parts of kapi that a gate changes.
package features

//go:generate go run genfeatures.go
