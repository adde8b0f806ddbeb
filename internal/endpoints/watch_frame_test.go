package endpoints

import (
	"bytes"
	"io"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/streaming"
	"k8s.io/apimachinery/pkg/watch"

	"kapi/internal/registry"
	"kapi/internal/storage"
)

// TestWatchFrameDecodes: two frames of a shared event, one after the
// other on a stream, decode as client-go decodes a watch, in JSON and
// protobuf: the event's type and the whole object.
func TestWatchFrameDecodes(t *testing.T) {
	for _, info := range registry.Codecs.SupportedMediaTypes() {
		if info.StreamSerializer == nil || (info.MediaType != "application/json" && info.MediaType != "application/vnd.kubernetes.protobuf") {
			continue
		}
		t.Run(info.MediaType, func(t *testing.T) {
			want := benchConfigMap()
			c := storage.NewCached(want.DeepCopy())
			id := frameIDsFor(info.Serializer, info.StreamSerializer)[watch.Modified]
			var stream bytes.Buffer
			for range 2 {
				frame, err := c.Frame(id, func(w io.Writer) error {
					return writeEvent(w, info.Serializer, info.StreamSerializer, watch.Modified, c)
				})
				if err != nil {
					t.Fatal(err)
				}
				stream.Write(frame)
			}
			dec := streaming.NewDecoder(info.StreamSerializer.Framer.NewFrameReader(io.NopCloser(&stream)), info.StreamSerializer.Serializer)
			for i := range 2 {
				var ev metav1.WatchEvent
				if _, _, err := dec.Decode(nil, &ev); err != nil {
					t.Fatalf("event %d: %v", i, err)
				}
				obj, err := runtime.Decode(info.Serializer, ev.Object.Raw)
				if err != nil {
					t.Fatalf("event %d object: %v", i, err)
				}
				got, ok := obj.(*corev1.ConfigMap)
				if ev.Type != string(watch.Modified) || !ok || got.Name != want.Name || got.Data["d"] != want.Data["d"] || got.ResourceVersion != want.ResourceVersion {
					t.Fatalf("event %d: %s %#v", i, ev.Type, obj)
				}
			}
		})
	}
}
