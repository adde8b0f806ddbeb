package filters

import (
	"math/rand/v2"
	"net/http"
)

// Goaway sends the client of a fraction chance of the HTTP/2 requests
// (--goaway-chance) away, as kube-apiserver's WithProbabilisticGoaway:
// the response carries "Connection: close", which Go's HTTP/2 server
// turns into a GOAWAY frame; the client's requests in flight finish and
// its next ones open a new connection, perhaps to another replica behind
// the load balancer. HTTP/1 requests are left alone; nil (no filter) when
// chance is 0.
func Goaway(chance float64) func(http.Handler) http.Handler {
	if chance <= 0 {
		return nil
	}
	return goawayWith(chance, rand.Float64)
}

// goawayWith is Goaway with its random numbers from next, for tests.
func goawayWith(chance float64, next func() float64) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ProtoMajor == 2 && next() < chance {
				w.Header().Set("Connection", "close")
			}
			h.ServeHTTP(w, r)
		})
	}
}
