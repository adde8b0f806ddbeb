package audit

import (
	"bytes"
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
)

func TestToJSON(t *testing.T) {
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{Kind: "ConfigMap", APIVersion: "v1"}, ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "ns"}, Data: map[string]string{"k": "v"}}
	info, _ := runtime.SerializerInfoForMediaType(scheme.Codecs.SupportedMediaTypes(), runtime.ContentTypeProtobuf)
	var pb bytes.Buffer
	if err := info.Serializer.Encode(cm, &pb); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, contentType, body string
		want                    string // "" is nil
	}{
		{"json", "application/json", `{"a": 1}`, `{"a": 1}`},
		{"json with charset", "application/json; charset=utf-8", `{"a":1}`, `{"a":1}`},
		{"merge patch", "application/merge-patch+json", `{"a":1}`, `{"a":1}`},
		{"json patch", "application/json-patch+json", `[{"op":"remove","path":"/a"}]`, `[{"op":"remove","path":"/a"}]`},
		{"no content type", "", `{"a":1}`, `{"a":1}`},
		{"yaml", "application/yaml", "a: 1\nb: [x]\n", `{"a":1,"b":["x"]}`},
		{"apply yaml", "application/apply-patch+yaml", "metadata:\n  name: x\n", `{"metadata":{"name":"x"}}`},
		{"protobuf", "application/vnd.kubernetes.protobuf", pb.String(), `{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"c","namespace":"ns"},"data":{"k":"v"}}`},
		{"malformed json", "application/json", `{"a":`, ""},
		{"malformed protobuf", "application/vnd.kubernetes.protobuf", "k8s\x00\xff", ""},
		{"empty", "application/json", "  ", ""},
		{"text", "text/plain", "ok", ""},
	}
	for _, c := range cases {
		got := toJSON(c.contentType, []byte(c.body))
		if string(got) != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
}

func TestStatusOf(t *testing.T) {
	st := statusOf([]byte(`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"nope","reason":"NotFound","details":{"name":"x","kind":"pods"},"code":404}`))
	if st == nil || st.Code != 404 || st.Reason != metav1.StatusReasonNotFound || st.Message != "nope" || st.Details.Name != "x" {
		t.Errorf("got %+v", st)
	}
	if st := statusOf([]byte(`{"kind":"ConfigMap","data":{"Status":"x"}}`)); st != nil {
		t.Errorf("a ConfigMap is not a Status: %+v", st)
	}
}

func TestWithoutManagedFields(t *testing.T) {
	mf := `"managedFields":[{"manager":"kubectl"}]`
	cases := []struct{ name, in, want string }{
		{"object", `{"kind":"ConfigMap","metadata":{"name":"a",` + mf + `},"data":{"n":1.50}}`,
			`{"data":{"n":1.50},"kind":"ConfigMap","metadata":{"name":"a"}}`},
		{"list", `{"kind":"ConfigMapList","metadata":{},"items":[{"metadata":{"name":"a",` + mf + `}},{"metadata":{"name":"b"}}]}`,
			`{"items":[{"metadata":{"name":"a"}},{"metadata":{"name":"b"}}],"kind":"ConfigMapList","metadata":{}}`},
		{"table", `{"kind":"Table","rows":[{"cells":["a"],"object":{"kind":"PartialObjectMetadata","metadata":{"name":"a",` + mf + `}}}]}`,
			`{"kind":"Table","rows":[{"cells":["a"],"object":{"kind":"PartialObjectMetadata","metadata":{"name":"a"}}}]}`},
		{"none", `{"kind":"ConfigMap",  "metadata":{"name":"a"}}`, `{"kind":"ConfigMap",  "metadata":{"name":"a"}}`},
	}
	for _, c := range cases {
		got := withoutManagedFields([]byte(c.in))
		if string(got) != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
		if !json.Valid(got) {
			t.Errorf("%s: invalid JSON", c.name)
		}
	}
}
