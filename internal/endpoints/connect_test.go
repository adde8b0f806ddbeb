package endpoints

import (
	"net/http/httptest"
	"testing"

	"kapi/internal/request"
)

func TestConnectRest(t *testing.T) {
	for _, c := range []struct {
		target, rest string
		ok           bool
	}{
		{"/api/v1/namespaces/ns/services/web:80/proxy", "", true},
		{"/api/v1/namespaces/ns/services/web:80/proxy/", "/", true},
		{"/api/v1/namespaces/ns/services/web/proxy/a/b", "/a/b", true},
		{"/api/v1/namespaces/ns/services/web/proxy/a%2Fb/", "/a%2Fb/", true},
		{"/api/v1/namespaces/ns/pods/p/proxy/x%20y?q=1", "/x%20y", true},
		{"/api/v1/nodes/n1:10250/proxy/metrics", "/metrics", true},
		{"/api/v1/namespaces/ns/pods/p/log", "", true},
		{"/api/v1/namespaces/n%2Fs/pods/p/proxy/a", "", false},
	} {
		r := httptest.NewRequest("GET", c.target, nil)
		info := request.Parse(r)
		rest, ok := connectRest(r, info.Parts)
		if rest != c.rest || ok != c.ok {
			t.Errorf("%s: rest %q, %v; want %q, %v", c.target, rest, ok, c.rest, c.ok)
		}
	}
}
