package apiextensions

import (
	"fmt"
	"kapi/internal/registry"
	"slices"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	crdvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	schemavalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/cel/environment"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// crdWarnings are kube-apiserver's warnings about a CRD's schemas, those
// an update brings that the stored CRD did not have: formats the server
// does not check (apiextensions-apiserver's list, by its
// GetUnrecognizedFormats), and sets of objects or lists, which
// server-side apply and CEL cannot handle.
func crdWarnings(obj, old runtime.Object) []string {
	var had []string
	if old != nil {
		had = schemaWarnings(internal(old))
	}
	var w []string
	for _, text := range schemaWarnings(internal(obj)) {
		if !slices.Contains(had, text) {
			w = append(w, text)
		}
	}
	return w
}

// schemaWarnings are the warnings about every schema of crd: each
// unrecognized format once per use, then each kind of bad set once.
func schemaWarnings(crd *apiextensions.CustomResourceDefinition) []string {
	var formats, sets []string
	version := environment.DefaultCompatibilityVersion()
	visit := func(s *apiextensions.JSONSchemaProps) bool {
		if s.Format != "" {
			probe := &spec.Schema{SchemaProps: spec.SchemaProps{Format: s.Format, Type: []string{s.Type}}}
			for _, f := range schemavalidation.GetUnrecognizedFormats(probe, version) {
				formats = append(formats, fmt.Sprintf("unrecognized format %q", f))
			}
		}
		if s.XListType != nil && *s.XListType == "set" && s.Items != nil && s.Items.Schema != nil {
			switch t := s.Items.Schema.Type; t {
			case "object", "array":
				text := fmt.Sprintf("x-kubernetes-list-type: set for items of type %q is not supported by server-side apply or CEL validation rules", t)
				if !slices.Contains(sets, text) {
					sets = append(sets, text)
				}
			}
		}
		return false
	}
	if v := crd.Spec.Validation; v != nil && v.OpenAPIV3Schema != nil {
		crdvalidation.SchemaHas(v.OpenAPIV3Schema, visit)
	}
	for _, v := range crd.Spec.Versions {
		if v.Schema != nil && v.Schema.OpenAPIV3Schema != nil {
			crdvalidation.SchemaHas(v.Schema.OpenAPIV3Schema, visit)
		}
	}
	slices.Sort(sets)
	return append(formats, sets...)
}

// finalizerWarnings: a custom resource may have finalizers without a
// domain, which a built-in object may not; kube warns about those a
// write adds.
func finalizerWarnings(obj, old runtime.Object) []string {
	added := obj.(*unstructured.Unstructured).GetFinalizers()
	if old != nil {
		had := old.(*unstructured.Unstructured).GetFinalizers()
		added = slices.DeleteFunc(slices.Clone(added), func(f string) bool { return slices.Contains(had, f) })
	}
	slices.Sort(added)
	var w []string
	for _, f := range slices.Compact(added) {
		if registry.QualifiedFinalizer(f) {
			continue
		}
		if strings.Contains(f, ".") {
			w = append(w, fmt.Sprintf("metadata.finalizers: %q: prefer a domain-qualified finalizer name including a path (/) to avoid accidental conflicts with other finalizer writers", f))
		} else {
			w = append(w, fmt.Sprintf("metadata.finalizers: %q: prefer a domain-qualified finalizer name to avoid accidental conflicts with other finalizer writers", f))
		}
	}
	return w
}
