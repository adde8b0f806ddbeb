package endpoints

import (
	"net/http/httptest"
	"testing"
)

func TestNegotiateOutput(t *testing.T) {
	cases := []struct {
		accept    string
		mediaType string
		as        string
		fail      bool
	}{
		{"", "application/json", "", false},
		{"*/*", "application/json", "", false},
		{"application/yaml", "application/yaml", "", false},
		{"application/vnd.kubernetes.protobuf, */*", "application/vnd.kubernetes.protobuf", "", false},
		{"application/json;as=Table;v=v1;g=meta.k8s.io,application/json", "application/json", "Table", false},
		{"application/json;as=Table;v=v1beta1;g=meta.k8s.io", "application/json", "Table", false},
		{"application/json;as=Table;v=v9;g=meta.k8s.io,application/json", "application/json", "", false},
		{"application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io", "application/vnd.kubernetes.protobuf", "PartialObjectMetadataList", false},
		{"application/json;q=0.5, application/yaml", "application/yaml", "", false},
		{"text/html", "", "", true},
		{"application/json;as=Widget;v=v1;g=meta.k8s.io", "", "", true},
		{"application/json;q=0", "", "", true},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/api/v1/pods", nil)
		if c.accept != "" {
			r.Header.Set("Accept", c.accept)
		}
		out, err := NegotiateOutput(r, nil, true)
		if c.fail {
			if err == nil {
				t.Errorf("%q: want 406, got %s", c.accept, out.Info.MediaType)
			}
			continue
		}
		if err != nil || out.Info.MediaType != c.mediaType || out.As != c.as {
			t.Errorf("%q: got %q as %q (%v), want %q as %q", c.accept, out.Info.MediaType, out.As, err, c.mediaType, c.as)
		}
	}
}
