package apiextensions

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/jsonpath"

	"kapi/internal/registry"
)

// What a custom resource is as a Go value: an unstructured.Unstructured,
// whose status, scale and table the CRD describes.

// unstructuredStatus is the top-level "status" of a custom resource.
type unstructuredStatus struct{}

func (unstructuredStatus) Reset(obj runtime.Object) {
	delete(obj.(*unstructured.Unstructured).Object, "status")
}

// Keep is kube-apiserver's PrepareForUpdate: a write of the object keeps
// the stored status, or has none when the stored object has none.
func (unstructuredStatus) Keep(obj, old runtime.Object) {
	u, o := obj.(*unstructured.Unstructured).Object, old.(*unstructured.Unstructured).Object
	if s, ok := o["status"]; ok {
		u["status"] = runtime.DeepCopyJSONValue(s)
	} else {
		delete(u, "status")
	}
}

// Write is the stored object with the written status and managed
// fields, and nothing else of the write: kube-apiserver's status strategy
// for custom resources resets metadata as well as spec.
func (unstructuredStatus) Write(obj, old runtime.Object) runtime.Object {
	in := obj.(*unstructured.Unstructured)
	out := old.(*unstructured.Unstructured).DeepCopy()
	out.SetManagedFields(in.GetManagedFields())
	if s, ok := in.Object["status"]; ok {
		out.Object["status"] = s
	} else {
		delete(out.Object, "status")
	}
	return out
}

func (unstructuredStatus) WriteResets() []string { return []string{"metadata", "spec"} }

// pathScale is the scale of a custom resource, at the paths of its CRD's
// scale subresource.
type pathScale struct {
	spec, status []string
	selector     []string // nil: no labelSelectorPath
}

func newPathScale(s *apiextensionsv1.CustomResourceSubresourceScale) *pathScale {
	p := &pathScale{spec: splitPath(s.SpecReplicasPath), status: splitPath(s.StatusReplicasPath)}
	if s.LabelSelectorPath != nil {
		p.selector = splitPath(*s.LabelSelectorPath)
	}
	return p
}

func (p *pathScale) Scale(obj runtime.Object) (*autoscalingv1.Scale, error) {
	u := obj.(*unstructured.Unstructured)
	spec, _, err := unstructured.NestedInt64(u.Object, p.spec...)
	if err != nil {
		return nil, err
	}
	status, _, err := unstructured.NestedInt64(u.Object, p.status...)
	if err != nil {
		return nil, err
	}
	selector := ""
	if p.selector != nil {
		if selector, _, err = unstructured.NestedString(u.Object, p.selector...); err != nil {
			return nil, err
		}
	}
	return registry.ScaleOf(u, int32(spec), int32(status), selector), nil
}

func (p *pathScale) SetReplicas(obj runtime.Object, replicas int32) error {
	return unstructured.SetNestedField(obj.(*unstructured.Unstructured).Object, int64(replicas), p.spec...)
}

// defaultColumns are what a CRD without printer columns prints, besides
// NAME, as kube-apiserver does.
var defaultColumns = []apiextensionsv1.CustomResourceColumnDefinition{
	{Name: "Age", Type: "date", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"], JSONPath: ".metadata.creationTimestamp"},
}

// newTable is the table of a version's additionalPrinterColumns, printed
// as kube-apiserver prints them: each cell the value at the column's
// JSONPath, typed by the column (a date as an age), nil when missing.
func newTable(columns []apiextensionsv1.CustomResourceColumnDefinition) (*registry.TableDef, error) {
	if len(columns) == 0 {
		columns = defaultColumns
	}
	t := &registry.TableDef{}
	var paths []*jsonpath.JSONPath
	for _, col := range columns {
		p := jsonpath.New(col.Name)
		if err := p.Parse(fmt.Sprintf("{%s}", col.JSONPath)); err != nil {
			return nil, fmt.Errorf("unrecognized column definition %q", col.JSONPath)
		}
		p.AllowMissingKeys(true)
		paths = append(paths, p)
		desc := col.Description
		if desc == "" {
			desc = fmt.Sprintf("Custom resource definition column (in JSONPath format): %s", col.JSONPath)
		}
		t.Columns = append(t.Columns, metav1.TableColumnDefinition{Name: col.Name, Type: col.Type, Format: col.Format,
			Description: desc, Priority: col.Priority})
	}
	t.Row = func(obj runtime.Object, now time.Time) []interface{} {
		cells := make([]interface{}, len(paths))
		content := unstructuredContent(obj)
		for i, p := range paths {
			results, err := p.FindResults(content)
			if err != nil || len(results) == 0 || len(results[0]) == 0 {
				continue
			}
			value := results[0][0].Interface()
			if t.Columns[i].Type == "string" {
				var buf bytes.Buffer
				if err := p.PrintResults(&buf, []reflect.Value{reflect.ValueOf(value)}); err == nil {
					cells[i] = buf.String()
				}
				continue
			}
			cells[i] = cell(t.Columns[i].Type, value, now)
		}
		return cells
	}
	return t, nil
}

func unstructuredContent(obj runtime.Object) map[string]interface{} {
	if u, ok := obj.(runtime.Unstructured); ok {
		return u.UnstructuredContent()
	}
	m, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	return m
}

// cell types a JSON value as its column says; nil when it is not of that
// type.
func cell(typ string, value interface{}, now time.Time) interface{} {
	switch typ {
	case "integer":
		switch v := value.(type) {
		case int64:
			return v
		case float64:
			return int64(v)
		case json.Number:
			if i, err := v.Int64(); err == nil {
				return i
			}
		}
	case "number":
		switch v := value.(type) {
		case int64:
			return float64(v)
		case float64:
			return v
		case json.Number:
			if f, err := v.Float64(); err == nil {
				return f
			}
		}
	case "boolean":
		if b, ok := value.(bool); ok {
			return b
		}
	case "date":
		if s, ok := value.(string); ok {
			var ts metav1.Time
			if err := ts.UnmarshalQueryParameter(s); err != nil {
				return "<invalid>"
			}
			return registry.HumanDuration(ts, now)
		}
	}
	return nil
}

// selectableFields are the values of a version's selectableFields, by
// the field path a field selector names ("spec.color"), formatted as
// kube-apiserver formats them (strings as they are, numbers and booleans
// in their JSON form); a missing field is "".
func selectableFields(fields []apiextensionsv1.SelectableField) (func(runtime.Object) map[string]string, error) {
	if len(fields) == 0 {
		// None but metadata's; still the custom resources' own field
		// labels, whose errors are kube's "field label not supported".
		return func(runtime.Object) map[string]string { return nil }, nil
	}
	type selectable struct {
		name string
		path *jsonpath.JSONPath
	}
	var sel []selectable
	for _, f := range fields {
		p := jsonpath.New(f.JSONPath)
		if err := p.Parse(fmt.Sprintf("{%s}", f.JSONPath)); err != nil {
			return nil, err
		}
		p.AllowMissingKeys(true)
		sel = append(sel, selectable{name: f.JSONPath[1:], path: p})
	}
	return func(obj runtime.Object) map[string]string {
		out := make(map[string]string, len(sel))
		content := unstructuredContent(obj)
		for _, s := range sel {
			out[s.name] = ""
			results, err := s.path.FindResults(content)
			if err != nil || len(results) == 0 || len(results[0]) == 0 {
				continue
			}
			switch v := results[0][0].Interface().(type) {
			case string:
				out[s.name] = v
			case bool:
				out[s.name] = strconv.FormatBool(v)
			case int64:
				out[s.name] = strconv.FormatInt(v, 10)
			case float64:
				out[s.name] = strconv.FormatFloat(v, 'g', -1, 64)
			default:
				out[s.name] = fmt.Sprint(v)
			}
		}
		return out
	}, nil
}
