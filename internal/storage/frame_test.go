package storage

import (
	"io"
	"runtime"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestFrameShared: watchers asking for a frame moments apart share one
// write of it; once nothing holds it, a garbage collection lets it go and
// the next watcher writes it again; a failed write is not kept.
func TestFrameShared(t *testing.T) {
	c := NewCached(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a"}})
	writes := 0
	write := func(w io.Writer) error {
		writes++
		_, err := io.WriteString(w, "frame")
		return err
	}
	first, err := c.Frame("json/MODIFIED", write)
	if err != nil {
		t.Fatal(err)
	}
	second, _ := c.Frame("json/MODIFIED", write)
	if writes != 1 || &first[0] != &second[0] {
		t.Fatalf("two watchers, %d writes (same bytes: %v); want one shared write", writes, &first[0] == &second[0])
	}
	if other, _ := c.Frame("json/ADDED", write); string(other) != "frame" || writes != 2 {
		t.Fatalf("another event type: %q after %d writes, want its own write", other, writes)
	}
	first, second = nil, nil
	runtime.GC()
	if again, _ := c.Frame("json/MODIFIED", write); string(again) != "frame" || writes != 3 {
		t.Fatalf("after a collection: %q after %d writes, want the frame written again", again, writes)
	}
	if _, err := c.Frame("proto/MODIFIED", func(io.Writer) error { return io.ErrShortWrite }); err != io.ErrShortWrite {
		t.Fatalf("failed write: %v", err)
	}
	if b, err := c.Frame("proto/MODIFIED", write); err != nil || string(b) != "frame" {
		t.Fatalf("after a failed write: %q, %v; want a new write", b, err)
	}
}
