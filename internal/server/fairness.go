package server

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/features"
	apistorage "k8s.io/apiserver/pkg/storage"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	utilflowcontrol "k8s.io/apiserver/pkg/util/flowcontrol"
	fcmetrics "k8s.io/apiserver/pkg/util/flowcontrol/metrics"
	fcrequest "k8s.io/apiserver/pkg/util/flowcontrol/request"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/klog/v2"

	"kapi/internal/controllers"
	"kapi/internal/filters"
	"kapi/internal/registry"
	"kapi/internal/storage"
)

// fairness is API Priority and Fairness as kube-apiserver runs it: k8s.io/apiserver's
// config controller (kube's own classification and fair-queuing
// algorithm) reads FlowSchemas and PriorityLevelConfigurations through
// the loopback client, a work estimator weighs lists by the number of
// objects stored, and on every replica the bootstrap configuration is
// kept as kube's post-start hook keeps it.
type fairness struct {
	filter   *filters.Fairness
	ctl      utilflowcontrol.Interface
	factory  informers.SharedInformerFactory
	counts   fcrequest.StorageObjectCountTracker
	ensurer  *controllers.FlowControlBootstrap
	cat      *registry.Catalogue
	interval time.Duration
}

// newFairness builds API Priority and Fairness for cfg, or nil when
// --enable-priority-and-fairness is off. Nothing runs before run.
func newFairness(cfg Config, lb *loopback, cat *registry.Catalogue) (*fairness, error) {
	if !cfg.EnablePriorityAndFairness {
		return nil, nil
	}
	seats := cfg.MaxRequestsInFlight + cfg.MaxMutatingRequestsInFlight
	if seats <= 0 {
		return nil, fmt.Errorf("invalid configuration: MaxRequestsInFlight=%d and MaxMutatingRequestsInFlight=%d; they must add up to something positive",
			cfg.MaxRequestsInFlight, cfg.MaxMutatingRequestsInFlight)
	}
	// kapi keeps no statistics of object sizes, so lists are weighed by
	// the number of objects, as kube did before 1.34's size-based
	// estimate (the library reads this gate; it is process-wide).
	if err := utilfeature.DefaultMutableFeatureGate.SetFromMap(map[string]bool{string(features.SizeBasedListCostEstimate): false}); err != nil {
		return nil, err
	}
	fcmetrics.Register()
	client, err := kubernetes.NewForConfig(lb.Config(APIServerUser))
	if err != nil {
		return nil, err
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	ctl := utilflowcontrol.New(factory, client.FlowcontrolV1(), seats)
	counts := fcrequest.NewStorageObjectCountTracker()
	return &fairness{
		filter: &filters.Fairness{
			Controller: ctl,
			Estimator:  fcrequest.NewWorkEstimator(counts.Get, ctl.GetInterestedWatchCount, fcrequest.DefaultWorkEstimatorConfig(), ctl.GetMaxSeats),
			WaitLimit:  cfg.RequestTimeout / 4,
			Dropped:    utilflowcontrol.NewDroppedRequestsTracker(),
		},
		ctl:      ctl,
		factory:  factory,
		counts:   counts,
		ensurer:  controllers.NewFlowControlBootstrap(client.FlowcontrolV1(), factory.Flowcontrol().V1()),
		cat:      cat,
		interval: cfg.EtcdCountMetricPollPeriod,
	}, nil
}

// Filter is the chain's filter; nil without fairness.
func (f *fairness) Filter() *filters.Fairness {
	if f == nil {
		return nil
	}
	return f.filter
}

// loops run the controller, the bootstrap ensurer and the object counts
// until ctx ends.
func (f *fairness) loops() []func(context.Context) {
	if f == nil {
		return nil
	}
	return []func(context.Context){
		func(ctx context.Context) {
			f.factory.Start(ctx.Done())
			// (Stopped before its first sync, as a server stopped at once
			// is, it says so: not worth an error then.)
			if err := f.ctl.Run(ctx.Done()); err != nil && ctx.Err() == nil {
				klog.ErrorS(err, "API Priority and Fairness config controller")
			}
			f.factory.Shutdown()
		},
		f.ensurer.Run,
		func(ctx context.Context) { f.counts.RunUntil(ctx.Done()) },
		func(ctx context.Context) {
			if f.interval > 0 { // kube's --etcd-count-metric-poll-period=0: no counts
				wait.UntilWithContext(ctx, f.count, f.interval)
			}
		},
	}
}

// count tells the work estimator how many objects each resource has, as
// kube-apiserver's storage does every --etcd-count-metric-poll-period
// (the watch cache's count, or a count-only read of etcd).
func (f *fairness) count(ctx context.Context) {
	seen := map[string]bool{}
	for _, st := range f.cat.Snapshot().Stores() {
		gr := st.GroupResource().String()
		counter, ok := st.Storage.(storage.Counter)
		if seen[gr] || !ok {
			continue
		}
		seen[gr] = true
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		n, err := counter.Count(cctx)
		cancel()
		if err != nil {
			continue // the count goes stale, and the estimate is the worst case
		}
		f.counts.Set(gr, apistorage.Stats{ObjectCount: n})
	}
}

// fairnessMetrics are kube's apiserver_flowcontrol_* metrics, which
// k8s.io/apiserver's controller and queues record in component-base's
// legacy registry.
var fairnessMetrics prometheus.Gatherer = prefixGatherer{legacyregistry.DefaultGatherer, []string{"apiserver_flowcontrol_"}}
