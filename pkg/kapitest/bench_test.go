package kapitest_test

import (
	"testing"
	"time"

	"kapi/pkg/kapitest"
)

// BenchmarkStart measures kapitest.Start, from the call to a ready server
// with an admin config (the PKI bundle is made by the first call of the
// process, before the timer), and reports it as ms/start; the stop is not
// timed.
func BenchmarkStart(b *testing.B) {
	kapitest.Start(b).Stop() // the process's certificates
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		s := kapitest.Start(b)
		total += time.Since(start)
		b.StopTimer()
		s.Stop()
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/start")
}

// BenchmarkStartWithCRD is BenchmarkStart with a CRD from a folder,
// installed and served before Start returns.
func BenchmarkStartWithCRD(b *testing.B) {
	kapitest.Start(b).Stop()
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		s := kapitest.Start(b, kapitest.CRDs("testdata/crds"))
		total += time.Since(start)
		b.StopTimer()
		s.Stop()
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/start")
}
