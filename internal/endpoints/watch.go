package endpoints

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/klauspost/compress/gzip"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/streaming"
	"k8s.io/apimachinery/pkg/watch"

	"kapi/internal/features"
	"kapi/internal/request"
	"kapi/internal/storage"
)

// watch serves a watch: a chunked stream of WatchEvents (newline-delimited
// JSON, or length-prefixed protobuf), each object encoded like a GET
// response, until the timeout, the client going away, or the server
// shutting down.
func (h *Resources) watch(w http.ResponseWriter, r *http.Request, s *scope) {
	var opts metav1.ListOptions
	if err := decodeOptions(r, &opts); err != nil {
		WriteError(w, r, err)
		return
	}
	if s.info.Name != "" {
		sel := fields.OneTermEqualSelector("metadata.name", s.info.Name)
		if opts.FieldSelector != "" {
			extra, err := fields.ParseSelector(opts.FieldSelector)
			if err != nil {
				WriteError(w, r, apierrors.NewBadRequest(err.Error()))
				return
			}
			sel = fields.AndSelectors(sel, extra)
		}
		opts.FieldSelector = sel.String()
	}
	stream := s.out.Info.StreamSerializer
	if stream == nil {
		WriteError(w, r, NotAcceptable())
		return
	}
	timeout := time.Duration(float64(h.MinRequestTimeout) * (1 + rand.Float64()))
	if opts.TimeoutSeconds != nil {
		timeout = time.Duration(*opts.TimeoutSeconds) * time.Second
	}
	// The events are only encoded: share the cache's objects, encoded once
	// for every watcher.
	wi, err := s.store.WatchShared(r.Context(), s.namespace(), &opts)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	defer wi.Stop()
	defer registerWatcher(s)()
	// Established: API Priority and Fairness frees the watch's seats.
	request.WatchStarted(r.Context())

	contentType := s.out.Info.MediaType
	if contentType == "application/vnd.kubernetes.protobuf" {
		contentType += ";stream=watch"
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Transfer-Encoding", "chunked")
	out := newWatchStream(w, r, &opts)
	defer out.Close()
	w.WriteHeader(http.StatusOK)
	out.Flush() // the headers
	// rec counts the bytes of each event's frame: written whole when it
	// is shared, or by the stream's framer.
	rec := newWatchRecorder(out, s)
	frames := frameIDs(s, stream)
	enc := streaming.NewEncoder(stream.Framer.NewFrameWriter(rec), stream.Serializer)
	// The events are taken in this goroutine when the watch allows it
	// (storage.Puller), and flushed when no more can be taken at once.
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	defer h.watches.add(cancel)()
	events := newEventPump(wi, out)
	first := true
	var buf bytes.Buffer
	for {
		ev, ok := events.take(ctx)
		if !ok {
			return
		}
		// A watch list's initial events end: its latency is observed
		// once they are out.
		listEnd := isInitialEventsEnd(ev)
		obj, err := h.watchObject(r, s, ev, first)
		if err != nil {
			obj = &apierrors.NewInternalError(err).ErrStatus
			ev.Type = watch.Error
		}
		// The columns come with the first event, whatever it is, as
		// kube's.
		first = false
		if c, ok := obj.(*storage.Cached); ok && frames[ev.Type] != "" {
			// The frame is shared with every watcher of this event.
			frame, err := c.Frame(frames[ev.Type], func(w io.Writer) error {
				return writeEvent(w, s.out.Info.Serializer, stream, ev.Type, c)
			})
			if err != nil {
				return
			}
			if _, err := rec.Write(frame); err != nil {
				return
			}
			rec.recordEvent()
			events.wrote()
			if listEnd {
				events.flush()
				recordWatchList(s, opts.FieldSelector)
			}
			continue
		}
		buf.Reset()
		if err := s.out.Info.Serializer.Encode(obj, &buf); err != nil {
			return
		}
		out := &metav1.WatchEvent{Type: string(ev.Type), Object: runtime.RawExtension{Raw: buf.Bytes()}}
		if err := enc.Encode(out); err != nil {
			return
		}
		rec.recordEvent()
		events.wrote()
		if ev.Type == watch.Error {
			events.flush()
			return
		}
		if listEnd {
			events.flush()
			recordWatchList(s, opts.FieldSelector)
		}
	}
}

// eventPump takes a watch's events for the handler that writes them, and
// flushes what was written when no event can be taken at once, before it
// waits for the next: events that wait together go out together, and
// none stays unflushed while the watch waits (events that wait in the
// watch's buffer may all be ones it leaves out). A storage.Puller gives
// its events in the caller's goroutine.
type eventPump struct {
	next      func(context.Context) (watch.Event, bool)
	tryNext   func() (watch.Event, bool)
	flusher   http.Flusher
	unflushed bool
}

func newEventPump(wi watch.Interface, flusher http.Flusher) *eventPump {
	if p, ok := wi.(storage.Puller); ok {
		return &eventPump{next: p.Next, tryNext: p.TryNext, flusher: flusher}
	}
	ch := wi.ResultChan()
	return &eventPump{flusher: flusher,
		next: func(ctx context.Context) (watch.Event, bool) {
			select {
			case ev, ok := <-ch:
				return ev, ok
			case <-ctx.Done():
				return watch.Event{}, false
			}
		},
		tryNext: func() (watch.Event, bool) {
			select {
			case ev, ok := <-ch:
				return ev, ok
			default:
				return watch.Event{}, false
			}
		}}
}

// take returns the next event, waiting until ctx ends; false then, or
// when the watch ended.
func (p *eventPump) take(ctx context.Context) (watch.Event, bool) {
	if ev, ok := p.tryNext(); ok {
		return ev, true
	}
	p.flush()
	return p.next(ctx)
}

// wrote notes an event written, to be flushed.
func (p *eventPump) wrote() { p.unflushed = true }

// flush sends what was written.
func (p *eventPump) flush() {
	if p.flusher != nil && p.unflushed {
		p.flusher.Flush()
	}
	p.unflushed = false
}

// frameIDs name a watch's shared event frames by event type (the
// object's encoding and the stream's decide the bytes); none for Tables
// and metadata, which are made per watcher.
func frameIDs(s *scope, stream *runtime.StreamSerializerInfo) map[watch.EventType]runtime.Identifier {
	if s.out.As != "" {
		return nil
	}
	return frameIDsFor(s.out.Info.Serializer, stream)
}

func frameIDsFor(enc runtime.Encoder, stream *runtime.StreamSerializerInfo) map[watch.EventType]runtime.Identifier {
	prefix := "watch-frame/" + string(enc.Identifier()) + "/" + string(stream.Serializer.Identifier()) + "/"
	ids := map[watch.EventType]runtime.Identifier{}
	for _, t := range []watch.EventType{watch.Added, watch.Modified, watch.Deleted} {
		ids[t] = runtime.Identifier(prefix + string(t))
	}
	return ids
}

// writeEvent writes one event of obj as a whole frame of the stream.
func writeEvent(w io.Writer, enc runtime.Encoder, stream *runtime.StreamSerializerInfo, typ watch.EventType, obj runtime.Object) error {
	var buf bytes.Buffer
	if err := enc.Encode(obj, &buf); err != nil {
		return err
	}
	out := &metav1.WatchEvent{Type: string(typ), Object: runtime.RawExtension{Raw: buf.Bytes()}}
	return streaming.NewEncoder(stream.Framer.NewFrameWriter(w), stream.Serializer).Encode(out)
}

// watchObject is what one event carries: the object, or as asked, its
// Table row (with the columns on the first event only) or its metadata.
func (h *Resources) watchObject(r *http.Request, s *scope, ev watch.Event, first bool) (runtime.Object, error) {
	if ev.Type == watch.Error {
		if st, ok := ev.Object.(*metav1.Status); ok {
			st.Kind, st.APIVersion = "Status", "v1"
		}
		return ev.Object, nil
	}
	switch s.out.As {
	case "Table":
		// A bookmark too is a Table of one row, as kube's: a watch list's
		// last one carries the initial-events-end annotation in its row's
		// metadata.
		t, err := toTable(r, s.store.R, storage.Unwrap(ev.Object), false, s.out.Version)
		if err != nil {
			return nil, err
		}
		if !first {
			t.ColumnDefinitions = nil
		}
		return t, nil
	case "PartialObjectMetadata":
		return partialMetadata(storage.Unwrap(ev.Object), s.out.Version)
	case "":
		return ev.Object, nil
	}
	return nil, NotAcceptable()
}

// watchStream is where a watch's frames go. A watch list (initial events
// asked for, with bookmarks) whose client takes gzip is compressed, as
// kube-apiserver 1.37 does with WatchListCompression (on by default): the
// header says gzip, and each flush ends a gzip member, so that what was
// flushed can be read at once (a reader of concatenated members, as Go's
// and every gzip reader is, reads the stream whole). Other watches, and
// every watch with the gate off, are written as they are.
type watchStream struct {
	w       http.ResponseWriter
	flusher http.Flusher
	gzip    bool
	gz      *gzip.Writer // the member being written; nil between flushes
}

func newWatchStream(w http.ResponseWriter, r *http.Request, opts *metav1.ListOptions) *watchStream {
	s := &watchStream{w: w}
	s.flusher, _ = w.(http.Flusher)
	isWatchList := opts.SendInitialEvents != nil && *opts.SendInitialEvents && opts.AllowWatchBookmarks
	if isWatchList && features.Enabled(features.FromContext(r.Context()), features.WatchListCompression) && takesGzip(r) {
		s.gzip = true
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Add("Vary", "Accept-Encoding")
	}
	return s
}

func (s *watchStream) Write(p []byte) (int, error) {
	if !s.gzip {
		return s.w.Write(p)
	}
	if s.gz == nil {
		s.gz = gzipWriters.Get().(*gzip.Writer)
		s.gz.Reset(s.w)
	}
	return s.gz.Write(p)
}

// Flush ends the gzip member, if any, and sends what was written.
func (s *watchStream) Flush() {
	s.Close()
	if s.flusher != nil {
		s.flusher.Flush()
	}
}

// Close ends the gzip member, if any (its error shows in the next write,
// or nowhere once the watch is over). The member's data is flushed before
// its end, as kube's perFlushGzipWriter does: a reader then has all of it
// from a deflate block that does not end the member, and hands it over
// before it waits for the next member's header.
func (s *watchStream) Close() {
	if s.gz == nil {
		return
	}
	s.gz.Flush()
	s.gz.Close()
	s.gz.Reset(nil)
	gzipWriters.Put(s.gz)
	s.gz = nil
}
