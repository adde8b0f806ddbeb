package openapi

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"k8s.io/kube-openapi/pkg/common"
)

// optionParams turns the fields of an options struct (ListOptions,
// CreateOptions, PodLogOptions, ...) into query parameters, the way
// kube-apiserver's AddObjectParams does, so that the parameter names,
// types and descriptions match its documents: every top-level field with
// a JSON name whose type is a scalar or a list of scalars, described by
// the type's SwaggerDoc. Nested structs (TypeMeta, Preconditions,
// sinceTime's metav1.Time) are not query parameters.
func optionParams(obj any, exclude ...string) ([]common.Parameter, error) {
	t := reflect.TypeOf(obj)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var docs map[string]string
	if d, ok := obj.(interface{ SwaggerDoc() map[string]string }); ok {
		docs = d.SwaggerDoc()
	}
	var params []common.Parameter
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || slices.Contains(exclude, name) {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct || ft.Kind() == reflect.Interface {
			continue
		}
		if ft.Kind() == reflect.Slice {
			// A list travels as the parameter repeated; OpenAPI v2 as
			// kube-apiserver writes it calls it by its element type.
			ft = ft.Elem()
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
		}
		dataType, ok := jsonTypes[ft.Kind()]
		if !ok {
			return nil, fmt.Errorf("%s.%s: no query parameter type for %s", t.Name(), f.Name, f.Type)
		}
		params = append(params, queryParam(name, docs[name], dataType))
	}
	return params, nil
}

var jsonTypes = map[reflect.Kind]string{
	reflect.Bool:    "boolean",
	reflect.String:  "string",
	reflect.Int:     "integer",
	reflect.Int8:    "integer",
	reflect.Int16:   "integer",
	reflect.Int32:   "integer",
	reflect.Int64:   "integer",
	reflect.Uint:    "integer",
	reflect.Uint8:   "integer",
	reflect.Uint16:  "integer",
	reflect.Uint32:  "integer",
	reflect.Uint64:  "integer",
	reflect.Float32: "number",
	reflect.Float64: "number",
}
