package manifest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestReload: a reload of the same files does nothing; one that fails to
// read or to publish keeps the set in force; each load is counted in
// kube's metrics, and last_config_info names the hash in force only.
func TestReload(t *testing.T) {
	hash, readErr, publishErr := "sha256:1", error(nil), error(nil)
	var published []string
	m := &Manifests{Plugin: "ValidatingAdmissionPolicy", Kind: "policy", Dir: "/nowhere", ServerID: "reload-test",
		Load: func(string) (string, func() error, error) {
			h := hash
			return h, func() error {
				if publishErr != nil {
					return publishErr
				}
				published = append(published, h)
				return nil
			}, readErr
		}}
	id := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte("reload-test")))
	reloads := func(status string) float64 {
		return testutil.ToFloat64(manifestReloads.WithLabelValues(status, "ValidatingAdmissionPolicy", id))
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	m.Reload() // the same files
	readErr = errors.New("bad file")
	hash = "sha256:2"
	m.Reload()
	readErr, publishErr = nil, errors.New("does not compile")
	m.Reload()
	m.Reload() // not tried again until the files change
	publishErr, hash = nil, "sha256:3"
	m.Reload()
	if fmt.Sprint(published) != "[sha256:1 sha256:3]" {
		t.Errorf("published %v", published)
	}
	if s, f := reloads("success"), reloads("failure"); s != 2 || f != 2 {
		t.Errorf("%v successes and %v failures, want 2 and 2", s, f)
	}
	if got := testutil.ToFloat64(manifestConfigInfo.WithLabelValues("ValidatingAdmissionPolicy", id, "sha256:3")); got != 1 {
		t.Errorf("last_config_info of the hash in force: %v", got)
	}
	if n := testutil.CollectAndCount(manifestConfigInfo); n != 1 {
		t.Errorf("%d last_config_info series, want 1", n)
	}
	m2 := &Manifests{Plugin: "ValidatingAdmissionPolicy", Kind: "policy", Dir: "/bad",
		Load: func(string) (string, func() error, error) { return "", nil, errors.New("error loading /bad/a.yaml: x") }}
	if err := m2.Start(); err == nil || err.Error() != `failed to load static policy manifests from "/bad": error loading /bad/a.yaml: x` {
		t.Errorf("a bad start: %v", err)
	}
}
