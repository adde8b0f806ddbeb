package endpoints

import (
	"io"
	"testing"

	"k8s.io/apimachinery/pkg/watch"

	"kapi/internal/storage"
)

// BenchmarkWatchFanOut is one event sent to 200 watchers of the same
// encoding, as the watch endpoint writes it: each watcher framing the
// event itself ("per-watcher", kapi before shared frames), or all of them
// writing the frame the first one made ("shared").
func BenchmarkWatchFanOut(b *testing.B) {
	const watchers = 200
	for _, mt := range []string{"application/json", "application/vnd.kubernetes.protobuf"} {
		info := serializer(b, mt)
		stream := info.StreamSerializer
		id := frameIDsFor(info.Serializer, stream)[watch.Modified]
		b.Run(mt+"/per-watcher", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c := storage.NewCached(benchConfigMap())
				for range watchers {
					if err := writeEvent(io.Discard, info.Serializer, stream, watch.Modified, c); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run(mt+"/shared", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c := storage.NewCached(benchConfigMap())
				for range watchers {
					frame, err := c.Frame(id, func(w io.Writer) error {
						return writeEvent(w, info.Serializer, stream, watch.Modified, c)
					})
					if err != nil {
						b.Fatal(err)
					}
					io.Discard.Write(frame)
				}
			}
		})
	}
}
