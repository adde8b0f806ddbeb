package audit

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// TestTruncate: as kube's truncating backend, an event over the size loses
// its objects and is annotated; one still over it (its metadata alone) is
// dropped; the batches are split to stay under the batch size; off, it
// changes nothing.
func TestTruncate(t *testing.T) {
	object := func(n int) *runtime.Unknown {
		return &runtime.Unknown{Raw: []byte(`{"data":"` + strings.Repeat("x", n) + `"}`)}
	}
	event := func(id string, level auditv1.Level, objectSize int, annotation int) *auditv1.Event {
		ev := &auditv1.Event{AuditID: types.UID("id-" + id), Level: level, Verb: "create", RequestURI: "/api/v1/namespaces/default/configmaps"}
		if objectSize > 0 {
			ev.RequestObject, ev.ResponseObject = object(objectSize), object(objectSize)
		}
		if annotation > 0 {
			ev.Annotations = map[string]string{"big": strings.Repeat("y", annotation)}
		}
		return ev
	}
	events := []*auditv1.Event{
		event("small", auditv1.LevelRequestResponse, 100, 0),
		event("big", auditv1.LevelRequestResponse, 5000, 0),
		event("metadata", auditv1.LevelMetadata, 0, 5000),
		event("small2", auditv1.LevelRequest, 100, 0),
		event("small3", auditv1.LevelRequest, 100, 0),
	}
	var batches [][]*auditv1.Event
	deliver := func(_ context.Context, b []*auditv1.Event) error {
		batches = append(batches, b)
		return nil
	}
	tr := Truncate{Enabled: true, MaxEventSize: 1000, MaxBatchSize: 1000}
	if err := tr.wrap(deliver)(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range batches {
		var ids []string
		size := int64(0)
		for _, ev := range b {
			ids = append(ids, string(ev.AuditID))
			n, _ := eventSize(ev)
			size += n
		}
		if size > tr.MaxBatchSize {
			t.Errorf("a batch of %d bytes", size)
		}
		got = append(got, strings.Join(ids, "+"))
	}
	// small (~500 bytes) and the truncated big (~400) fit together; the
	// metadata-only event is dropped; small2 and small3 follow.
	if want := "id-small+id-big+id-small2+id-small3"; strings.Join(got, "+") != want || len(batches) < 2 {
		t.Errorf("batches %q, want %s split in two or more", got, want)
	}
	for _, b := range batches {
		for _, ev := range b {
			truncated := ev.Annotations[truncatedAnnotation] == "true"
			if truncated != (ev.AuditID == "id-big") || truncated && (ev.RequestObject != nil || ev.ResponseObject != nil) {
				t.Errorf("%s: truncated %v, objects %v %v", ev.AuditID, truncated, ev.RequestObject != nil, ev.ResponseObject != nil)
			}
		}
	}
	if events[1].RequestObject == nil || events[1].Annotations != nil {
		t.Error("the original event was changed")
	}

	batches = nil
	if err := (Truncate{MaxEventSize: 10, MaxBatchSize: 10}).wrap(deliver)(context.Background(), events); err != nil || len(batches) != 1 || len(batches[0]) != len(events) {
		t.Errorf("off: %d batches", len(batches))
	}
	for _, c := range []struct {
		tr   Truncate
		want string
	}{
		{Truncate{MaxEventSize: 0, MaxBatchSize: 10}, "invalid audit truncate log max event size 0, must be a positive number"},
		{Truncate{MaxEventSize: 100, MaxBatchSize: 10}, "invalid audit truncate log max batch size 10, must be greater than max event size (100)"},
	} {
		if err := c.tr.validate("log"); err == nil || err.Error() != c.want {
			t.Errorf("validate %+v: %v, want %q", c.tr, err, c.want)
		}
	}
}

// TestLogTruncate: --audit-log-truncate-enabled puts the truncation in
// front of the log: a large event is written without its objects.
func TestLogTruncate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	o := DefaultOptions()
	o.LogPath = path
	o.LogTruncate = Truncate{Enabled: true, MaxEventSize: 1000, MaxBatchSize: 10000}
	s, err := newLogSink(o)
	if err != nil {
		t.Fatal(err)
	}
	ev := testEvent("abc", 0)
	ev.Level = auditv1.LevelRequestResponse
	ev.RequestObject = &runtime.Unknown{Raw: []byte(`{"data":"` + strings.Repeat("x", 2000) + `"}`)}
	s.add(ev)
	s.shutdown(context.Background())
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), `"audit.k8s.io/truncated":"true"`) || strings.Contains(string(b), "xxxx") {
		t.Errorf("log: %s", b)
	}
}
