package admission

import (
	"context"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"kapi/internal/metrics"
)

// kube-apiserver's admission metrics (k8s.io/apiserver/pkg/admission/metrics):
// the latency of each phase ("step": admit, validate) and of each named
// plugin in it, by operation and whether it refused. The webhooks' own
// metrics are in package webhook. (kube-apiserver's summary
// apiserver_admission_step_admission_duration_seconds_summary is left
// out: a summary costs a lock and a quantile stream per observation.)
//
// They are classic histograms only, without native buckets: kube's are
// made when its admission package is initialised, before the server turns
// component-base's native histograms on (NativeHistograms), and a
// protobuf scrape of kube-apiserver 1.37.2 has no native data for them.
var (
	stepLatency = classicHistogram("apiserver_admission_step_admission_duration_seconds",
		"[STABLE] Admission sub-step latency histogram in seconds, broken out for each operation and API resource and step type (validate or admit).",
		[]float64{0.005, 0.025, 0.1, 0.5, 1.0, 2.5}, "type", "operation", "rejected")
	controllerLatency = classicHistogram("apiserver_admission_controller_admission_duration_seconds",
		"[STABLE] Admission controller latency histogram in seconds, identified by name and broken out for each operation and API resource and type (validate or admit).",
		[]float64{0.005, 0.025, 0.1, 0.5, 1.0, 2.5}, "name", "type", "operation", "rejected")
)

// classicHistogram registers a histogram vector with classic buckets only.
func classicHistogram(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	metrics.Registry.MustRegister(h)
	return h
}

// Step types of the metrics.
const (
	stepAdmit    = "admit"
	stepValidate = "validate"
)

// observers are one histogram's series of one name and type, by
// operation and refusal. A series is made when first observed, as
// kube's: /metrics has those of the operations and outcomes that
// happened (CONNECT ones after a plugin that handles CONNECT admitted a
// connection, as kube's pods/exec), no zeros.
type observers map[Operation]*[2]*metrics.Series[prometheus.Observer]

func newObservers(h *prometheus.HistogramVec, labels ...string) observers {
	o := observers{}
	for _, op := range []Operation{Create, Update, Delete, Connect} {
		// (Each series keeps its own label values.)
		o[op] = &[2]*metrics.Series[prometheus.Observer]{
			metrics.NewSeries(h, slices.Concat(labels, []string{string(op), "false"})...),
			metrics.NewSeries(h, slices.Concat(labels, []string{string(op), "true"})...)}
	}
	return o
}

// observe records one call of op that started at start and ended in err.
func (o observers) observe(op Operation, start time.Time, err error) {
	pair, ok := o[op]
	if !ok {
		return
	}
	i := 0
	if err != nil {
		i = 1
	}
	pair[i].Get().Observe(time.Since(start).Seconds())
}

var (
	admitStep    = newObservers(stepLatency, stepAdmit)
	validateStep = newObservers(stepLatency, stepValidate)
)

// AddNamed appends the plugin name (one of Ordered) to the phases it takes
// part in, with its latency recorded in
// apiserver_admission_controller_admission_duration_seconds.
func (c *Chain) AddNamed(name string, p any) {
	if m, ok := p.(Mutator); ok {
		nm := &namedMutator{m: m, obs: newObservers(controllerLatency, name, stepAdmit)}
		if r, ok := p.(Reinvoker); ok {
			c.Mutators = append(c.Mutators, &namedReinvoker{namedMutator: nm, r: r})
		} else {
			c.Mutators = append(c.Mutators, nm)
		}
	}
	if v, ok := p.(Validator); ok {
		c.Validators = append(c.Validators, &namedValidator{v: v, obs: newObservers(controllerLatency, name, stepValidate)})
	}
}

type namedMutator struct {
	m   Mutator
	obs observers
}

func (n *namedMutator) Admit(ctx context.Context, a *Attributes) error {
	start := time.Now()
	err := n.m.Admit(ctx, a)
	n.obs.observe(a.Operation, start, err)
	return err
}

// namedReinvoker keeps a plugin's reinvocation: the chain treats
// Reinvokers apart.
type namedReinvoker struct {
	*namedMutator
	r Reinvoker
}

func (n *namedReinvoker) Reinvoke(ctx context.Context, a *Attributes) error {
	start := time.Now()
	err := n.r.Reinvoke(ctx, a)
	n.obs.observe(a.Operation, start, err)
	return err
}

func (n *namedMutator) HandlesConnect() bool { return handlesConnect(n.m) }

func (n *namedValidator) HandlesConnect() bool { return handlesConnect(n.v) }

type namedValidator struct {
	v   Validator
	obs observers
}

func (n *namedValidator) Validate(ctx context.Context, a *Attributes) error {
	start := time.Now()
	err := n.v.Validate(ctx, a)
	n.obs.observe(a.Operation, start, err)
	return err
}
