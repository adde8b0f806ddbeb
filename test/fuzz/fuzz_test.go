// Package fuzz holds Go fuzz targets that drive a whole kapi (in process,
// on its embedded etcd, through kapitest) over HTTPS with what a client
// can send: request paths and queries, label and field selectors, object
// bodies in JSON, YAML and protobuf, the four patch types, and custom
// resources and CRD schemas for the schema validator.
//
// Each target checks what must hold for any input: no 5xx, every error a
// metav1.Status, and nothing stored by a refused request (a refused
// create leaves no object, a refused patch leaves the object as it was);
// where a result can be computed beside the server (the selectors), the
// server's answer must equal it.
//
// `go test ./test/fuzz` (CI) runs the seed corpora and the inputs kept in
// testdata/fuzz. To fuzz, one target at a time:
//
//	go test ./test/fuzz -run '^$' -fuzz '^FuzzCreate$' -fuzztime 5m -parallel 2
//
// Each fuzzing worker starts its own kapi.
package fuzz

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"kapi/pkg/kapitest"
)

// fuzzServer is a kapi for one fuzz target and an HTTP client of its
// administrator.
type fuzzServer struct {
	*kapitest.Server
	hc *http.Client
}

// start starts kapi without its control loops (the fuzz targets' state is
// their own) with opts.
func start(f *testing.F, opts ...kapitest.Option) *fuzzServer {
	f.Helper()
	s := kapitest.Start(f, append([]kapitest.Option{kapitest.Controllers()}, opts...)...)
	hc, err := rest.HTTPClientFor(s.Config)
	if err != nil {
		f.Fatal(err)
	}
	return &fuzzServer{Server: s, hc: hc}
}

// answer is what the server said to one request.
type answer struct {
	code   int
	header http.Header
	body   []byte
	status *metav1.Status
}

// do sends a request and reads at most 4 MiB of its answer within a few
// seconds (a fuzzed watch streams until then; its head is what counts).
func (s *fuzzServer) do(t testing.TB, method, path, contentType string, body []byte) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Skipf("not a request: %v", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	a := answer{code: resp.StatusCode, header: resp.Header, body: b}
	var st metav1.Status
	if json.Unmarshal(b, &st) == nil && st.Kind == "Status" {
		a.status = &st
	}
	return a
}

// kubeInternalErrors are the 500s kube-apiserver itself answers to bad
// input, which kapi answers alike: a create that names a resourceVersion
// (kube's storage.ErrResourceVersionSetOnCreate, a plain error, hence an
// internal one; kube keeps it on purpose, kubernetes/kubernetes#62836).
var kubeInternalErrors = map[string]bool{
	"resourceVersion should not be set on objects to be created": true,
}

// mustBeClean fails on a 5xx (but kube's own, above), and on an error of
// the API without a Status whose code is the answer's.
func mustBeClean(t testing.TB, what string, a answer) {
	t.Helper()
	if a.code == 500 && a.status != nil && kubeInternalErrors[a.status.Message] {
		return
	}
	if a.code >= 500 {
		t.Fatalf("%s: %d %s", what, a.code, a.body)
	}
	if a.code >= 400 && (a.status == nil || int(a.status.Code) != a.code || a.status.Status != metav1.StatusFailure) {
		t.Fatalf("%s: %d without a Status of that code: %s", what, a.code, a.body)
	}
}

// mustBeOneOf fails unless the answer's code is among codes (or is one
// of kube's own 500s).
func mustBeOneOf(t testing.TB, what string, a answer, codes ...int) {
	t.Helper()
	if a.code == 500 && a.status != nil && kubeInternalErrors[a.status.Message] {
		return
	}
	for _, c := range codes {
		if a.code == c {
			return
		}
	}
	t.Fatalf("%s: unexpected %d %s", what, a.code, a.body)
}

func mustCreate(f *testing.F, s *fuzzServer, path, body string) {
	f.Helper()
	a := s.do(f, "POST", path, "application/json", []byte(body))
	if a.code != http.StatusCreated {
		f.Fatalf("POST %s: %d %s", path, a.code, a.body)
	}
}

// FuzzPath: any GET, HEAD or OPTIONS of any path and query under /api,
// /apis and the server's other paths is answered without a 5xx, and an
// error under /api and /apis is a Status.
// proxied matches the paths kapi proxies to a service, pod or node.
var proxied = regexp.MustCompile(`/(services|pods|nodes)/[^/]+/proxy(/|$)`)

func FuzzPath(f *testing.F) {
	s := start(f)
	for _, seed := range []struct{ method, path string }{
		{"GET", "/api/v1/namespaces/default/configmaps"},
		{"GET", "/api/v1/namespaces/default/configmaps/x"},
		{"GET", "/api/v1/namespaces/default/pods?labelSelector=a%3Db&limit=1"},
		{"GET", "/api/v1/namespaces/default/pods?continue=abc&limit=1"},
		{"GET", "/api/v1/namespaces/default/pods?resourceVersion=1&resourceVersionMatch=Exact"},
		{"GET", "/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=1&allowWatchBookmarks=true"},
		{"GET", "/api/v1/namespaces/default/services/kubernetes:https/proxy/"},
		{"GET", "/apis/apps/v1/namespaces/default/deployments/d/scale"},
		{"GET", "/apis/apps/v1/deployments?fieldSelector=metadata.name%3Dx"},
		{"GET", "/api/v1/namespaces/default/pods/p/log?follow=true&tailLines=-1"},
		{"GET", "/api/v1/namespaces//configmaps"},
		{"GET", "/api/v1/namespaces/default/configmaps/%2e%2e"},
		{"GET", "/apis/%zz/v1"},
		{"GET", "/openapi/v3/apis/apps/v1"},
		{"GET", "/openapi/v2?timeout=1s"},
		{"GET", "/apis?as=Table"},
		{"HEAD", "/version"},
		{"OPTIONS", "/api/v1/pods"},
		{"GET", "/api/v1/pods?as=Table;g=meta.k8s.io;v=v1&includeObject=Object"},
		{"GET", "/api/v1/pods?sendInitialEvents=true&watch=1&resourceVersionMatch=NotOlderThan"},
	} {
		f.Add(seed.method, seed.path)
	}
	methods := map[string]bool{"GET": true, "HEAD": true, "OPTIONS": true}
	f.Fuzz(func(t *testing.T, method, path string) {
		if !methods[method] || !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t#") {
			t.Skip()
		}
		u, err := url.ParseRequestURI(path)
		if err != nil {
			t.Skip()
		}
		a := s.do(t, method, path, "", nil)
		api := strings.HasPrefix(u.Path, "/api/") || strings.HasPrefix(u.Path, "/apis/")
		if proxied.MatchString(u.Path) {
			// The backend (here kapi itself, the kubernetes Service)
			// answers what it answers; kapi's own refusals are Statuses.
			if a.code >= 500 && a.status == nil {
				t.Fatalf("%s %s: %d %s", method, path, a.code, a.body)
			}
			return
		}
		if a.code >= 500 {
			t.Fatalf("%s %s: %d %s", method, path, a.code, a.body)
		}
		if api && a.code >= 400 && method != "HEAD" {
			mustBeClean(t, method+" "+path, a)
		}
	})
}
