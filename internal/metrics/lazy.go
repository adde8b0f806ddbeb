package metrics

import "sync/atomic"

// Series is one series of a metric vector (a counter, gauge or histogram
// of fixed label values) that is made on its first use. kube-apiserver's
// series appear in /metrics once something was counted or observed in
// them, never as zeros made in advance; a Series keeps that, and its
// users' hot paths still skip the vector's label lookup (a hash of the
// values and a map read under a lock) after the first use: one atomic
// load.
//
//	latency := metrics.NewSeries(etcdRequestLatency, "get", "", "pods")
//	...
//	latency.Get().Observe(seconds) // the series exists from now on
type Series[T any] struct {
	vec    interface{ WithLabelValues(...string) T }
	labels []string
	p      atomic.Pointer[T]
}

// NewSeries is the series of vec with labels, made when first used. It
// keeps labels: the caller gives them up.
func NewSeries[T any](vec interface{ WithLabelValues(...string) T }, labels ...string) *Series[T] {
	return &Series[T]{vec: vec, labels: labels}
}

// Get is the series, made now if it was not yet. Two first uses at once
// make it once: the vector returns the same series to both.
func (s *Series[T]) Get() T {
	if p := s.p.Load(); p != nil {
		return *p
	}
	m := s.vec.WithLabelValues(s.labels...)
	s.p.Store(&m)
	return m
}
