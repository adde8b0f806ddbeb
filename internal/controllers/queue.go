package controllers

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"kapi/internal/metrics"
)

// The control loops queue their work on client-go's workqueue, whose
// metrics are recorded under kube-controller-manager's names
// (workqueue_depth, workqueue_adds_total, workqueue_retries_total, ...),
// labelled with the queue's name, on kapi's /metrics. Each queue is
// given the provider itself rather than through workqueue.SetProvider:
// the global provider is set once per process, by whichever package's
// init comes first, and a test process that also links
// controller-runtime (kapitest's users) would otherwise lose kapi's
// queue metrics to it.

var (
	queueDepth = metrics.Gauge("workqueue_depth", "[BETA] Current depth of workqueue", "name")
	queueAdds  = metrics.Counter("workqueue_adds_total", "[BETA] Total number of adds handled by workqueue", "name")
	queueWait  = metrics.Histogram("workqueue_queue_duration_seconds", "[BETA] How long in seconds an item stays in workqueue before being requested.",
		prometheus.ExponentialBuckets(10e-9, 10, 10), "name")
	queueWork = metrics.Histogram("workqueue_work_duration_seconds", "[BETA] How long in seconds processing an item from workqueue takes.",
		prometheus.ExponentialBuckets(10e-9, 10, 10), "name")
	queueUnfinished = metrics.Gauge("workqueue_unfinished_work_seconds",
		"[BETA] How many seconds of work has done that is in progress and hasn't been observed by work_duration. Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases.", "name")
	queueLongest = metrics.Gauge("workqueue_longest_running_processor_seconds",
		"[BETA] How many seconds has the longest running processor for workqueue been running.", "name")
	queueRetries = metrics.Counter("workqueue_retries_total", "[BETA] Total number of retries handled by workqueue", "name")
)

type queueMetrics struct{}

func (queueMetrics) NewDepthMetric(name string) workqueue.GaugeMetric {
	return queueDepth.WithLabelValues(name)
}
func (queueMetrics) NewAddsMetric(name string) workqueue.CounterMetric {
	return queueAdds.WithLabelValues(name)
}
func (queueMetrics) NewLatencyMetric(name string) workqueue.HistogramMetric {
	return queueWait.WithLabelValues(name)
}
func (queueMetrics) NewWorkDurationMetric(name string) workqueue.HistogramMetric {
	return queueWork.WithLabelValues(name)
}
func (queueMetrics) NewUnfinishedWorkSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return queueUnfinished.WithLabelValues(name)
}
func (queueMetrics) NewLongestRunningProcessorSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return queueLongest.WithLabelValues(name)
}
func (queueMetrics) NewRetriesMetric(name string) workqueue.CounterMetric {
	return queueRetries.WithLabelValues(name)
}

// NewQueue returns a rate-limited queue of keys whose metrics carry name
// (kube-controller-manager's queue names, such as "namespace" or
// "garbage_collector_attempt_to_delete").
func NewQueue[T comparable](name string) workqueue.TypedRateLimitingInterface[T] {
	return workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[T](),
		workqueue.TypedRateLimitingQueueConfig[T]{Name: name, MetricsProvider: queueMetrics{}})
}

// NewQueueWith is NewQueue with its own rate limiter.
func NewQueueWith[T comparable](name string, limiter workqueue.TypedRateLimiter[T]) workqueue.TypedRateLimitingInterface[T] {
	return workqueue.NewTypedRateLimitingQueueWithConfig(limiter, workqueue.TypedRateLimitingQueueConfig[T]{Name: name, MetricsProvider: queueMetrics{}})
}

// workqueueOf is the queue a loop works through.
type workqueueOf[T comparable] = workqueue.TypedRateLimitingInterface[T]

// work runs sync on each key of queue until ctx ends (the queue shuts
// down then), once the informers have their first lists; see serve.
func work[T comparable](ctx context.Context, queue workqueueOf[T], what string, sync func(T) error, infs ...*Informer) {
	go func() {
		<-ctx.Done()
		queue.ShutDown()
	}()
	if !waitSynced(ctx, infs...) {
		return
	}
	serve(ctx, queue, what, sync)
}

// serve runs sync on each key of queue until it shuts down: a key whose
// sync fails comes back with the queue's back-off, the failure logged as
// what's (a conflict, someone else's write in between, only at V(2); a
// waitError only at V(4)).
func serve[T comparable](ctx context.Context, queue workqueueOf[T], what string, sync func(T) error) {
	for {
		key, quit := queue.Get()
		if quit {
			return
		}
		switch err := sync(key); {
		case err == nil || ctx.Err() != nil:
			queue.Forget(key)
		default:
			var wait waitError
			switch {
			case apierrors.IsConflict(err):
				klog.V(2).InfoS("sync: conflict, will retry", "what", what, "key", key, "err", err)
			case errors.As(err, &wait):
				klog.V(4).InfoS("sync: will retry", "what", what, "key", key, "err", err)
			default:
				klog.Warningf("%s %v: %v", what, key, err)
			}
			queue.AddRateLimited(key)
		}
		queue.Done(key)
	}
}

// waitError is a sync that found nothing wrong but cannot act yet (kube's
// certificate controllers' IgnorableError): its key is tried again with
// the back-off, and the failure is not worth a warning.
type waitError struct{ error }
