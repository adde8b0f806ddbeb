package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/klog/v2"
)

// Truncate is kube-apiserver's truncating backend in front of a sink
// (--audit-<sink>-truncate-enabled, -max-event-size, -max-batch-size): an
// event whose JSON is larger than MaxEventSize loses its request and
// response objects and is annotated audit.k8s.io/truncated=true; one
// still too large is dropped (an error of plugin "truncate"); a batch is
// split so that each part's events add up to at most MaxBatchSize.
type Truncate struct {
	Enabled      bool
	MaxEventSize int64
	MaxBatchSize int64
}

// DefaultTruncate is kube's default: off, 100 KiB events, 10 MiB batches.
var DefaultTruncate = Truncate{MaxEventSize: 100 * 1024, MaxBatchSize: 10 * 1024 * 1024}

const truncatedAnnotation = "audit.k8s.io/truncated"

// validate is kube's AuditTruncateOptions.Validate, for the sink named.
func (t Truncate) validate(sink string) error {
	if t.MaxEventSize <= 0 {
		return fmt.Errorf("invalid audit truncate %s max event size %v, must be a positive number", sink, t.MaxEventSize)
	}
	if t.MaxBatchSize < t.MaxEventSize {
		return fmt.Errorf("invalid audit truncate %s max batch size %v, must be greater than max event size (%v)", sink, t.MaxBatchSize, t.MaxEventSize)
	}
	return nil
}

// wrap puts the truncation in front of deliver, when enabled.
func (t Truncate) wrap(deliver deliverFunc) deliverFunc {
	if !t.Enabled {
		return deliver
	}
	return func(ctx context.Context, events []*auditv1.Event) error {
		var batch []*auditv1.Event
		var batchSize int64
		var errs, failed []error
		flush := func() {
			if len(batch) > 0 {
				if err := deliver(ctx, batch); err != nil {
					errs = append(errs, err)
				}
				batch, batchSize = nil, 0
			}
		}
		for _, ev := range events {
			size, err := eventSize(ev)
			// Only an event with objects can be made smaller.
			if err == nil && size > t.MaxEventSize && (ev.Level == auditv1.LevelRequest || ev.Level == auditv1.LevelRequestResponse) {
				ev = truncated(ev)
				size, err = eventSize(ev)
			}
			if err == nil && size > t.MaxEventSize {
				err = errors.New("event is too large even after truncating")
			}
			if err != nil {
				failed = append(failed, err)
				continue
			}
			if len(batch) > 0 && batchSize+size > t.MaxBatchSize {
				flush()
			}
			batch, batchSize = append(batch, ev), batchSize+size
		}
		flush()
		if len(failed) > 0 {
			errorCounter.WithLabelValues("truncate").Add(float64(len(failed)))
			klog.Errorf("Error in audit plugin 'truncate' affecting %d audit events: %v", len(failed), errors.Join(failed...))
		}
		return errors.Join(errs...)
	}
}

// eventSize is the size of the event's JSON, as kube measures it.
func eventSize(ev *auditv1.Event) (int64, error) {
	b, err := json.Marshal(ev)
	return int64(len(b)), err
}

// truncated is a copy of ev without its request and response objects,
// annotated so.
func truncated(ev *auditv1.Event) *auditv1.Event {
	cp := *ev
	cp.RequestObject, cp.ResponseObject = nil, nil
	cp.Annotations = make(map[string]string, len(ev.Annotations)+1)
	for k, v := range ev.Annotations {
		cp.Annotations[k] = v
	}
	cp.Annotations[truncatedAnnotation] = "true"
	return &cp
}
