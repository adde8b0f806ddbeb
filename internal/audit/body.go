package audit

import (
	"bytes"
	"encoding/json"
	"mime"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// toJSON turns a captured request or response body into the JSON an
// audit event carries, whatever its wire format: JSON as is, YAML
// converted, protobuf decoded (built-in types only, the only ones served
// as protobuf) and encoded as JSON. It returns nil for what it cannot
// read (an empty or malformed body, another format).
func toJSON(contentType string, body []byte) []byte {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case mt == "application/vnd.kubernetes.protobuf":
		return protobufToJSON(body)
	case strings.HasSuffix(mt, "yaml"):
		js, err := yaml.YAMLToJSON(body)
		if err != nil {
			return nil
		}
		return js
	}
	if !json.Valid(body) {
		return nil
	}
	return body
}

func protobufToJSON(body []byte) []byte {
	obj, gvk, err := scheme.Codecs.UniversalDeserializer().Decode(body, nil, nil)
	if err != nil {
		return nil
	}
	obj.GetObjectKind().SetGroupVersionKind(*gvk)
	js, err := json.Marshal(obj)
	if err != nil {
		return nil
	}
	return js
}

// objectMetaOf reads the metadata of the object in js; zero when there is
// none.
func objectMetaOf(js []byte) metav1.ObjectMeta {
	var o struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	json.Unmarshal(js, &o)
	return o.Metadata
}

// statusOf returns the Status in js, or nil when js is something else.
func statusOf(js []byte) *metav1.Status {
	if !bytes.Contains(js, []byte(`"Status"`)) {
		return nil
	}
	var tm metav1.TypeMeta
	if json.Unmarshal(js, &tm) != nil || tm.Kind != "Status" {
		return nil
	}
	st := &metav1.Status{}
	if json.Unmarshal(js, st) != nil {
		return nil
	}
	return st
}

// withoutManagedFields drops metadata.managedFields from the object in
// js, from the items of a list and from the objects of a Table's rows.
func withoutManagedFields(js []byte) []byte {
	if !bytes.Contains(js, []byte(`"managedFields"`)) {
		return js
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var obj map[string]any
	if dec.Decode(&obj) != nil {
		return js
	}
	dropManagedFields(obj)
	for _, list := range []string{"items", "rows"} {
		items, _ := obj[list].([]any)
		for _, it := range items {
			m, _ := it.(map[string]any)
			if list == "rows" {
				m, _ = m["object"].(map[string]any)
			}
			dropManagedFields(m)
		}
	}
	out, err := json.Marshal(obj)
	if err != nil {
		return js
	}
	return out
}

func dropManagedFields(obj map[string]any) {
	if md, ok := obj["metadata"].(map[string]any); ok {
		delete(md, "managedFields")
	}
}
