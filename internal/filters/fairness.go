package filters

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	apirequest "k8s.io/apiserver/pkg/endpoints/request"
	utilflowcontrol "k8s.io/apiserver/pkg/util/flowcontrol"
	fcmetrics "k8s.io/apiserver/pkg/util/flowcontrol/metrics"
	fcrequest "k8s.io/apiserver/pkg/util/flowcontrol/request"

	"kapi/internal/request"
)

// Fairness is what the PriorityAndFairness filter needs: the API Priority
// and Fairness controller (classification by FlowSchema, seats per
// priority level, fair queuing among flows) and its work estimator. Both
// are k8s.io/apiserver's util/flowcontrol, kube-apiserver's own
// implementation of the algorithm (KEP-1040); the filter around them is
// kapi's.
type Fairness struct {
	Controller utilflowcontrol.Interface
	Estimator  fcrequest.WorkEstimatorFunc
	// WaitLimit is how long a request without a deadline may wait in its
	// queue (kube: --request-timeout / 4).
	WaitLimit time.Duration
	// Dropped computes Retry-After per priority level from the recent
	// rejections, as kube-apiserver's filter does.
	Dropped utilflowcontrol.DroppedRequestsTracker
}

// PriorityAndFairness is kube-apiserver's WithPriorityAndFairness: each
// request (but long-running ones other than watches) is classified, waits
// in its flow's queue for seats of its priority level, and is refused
// with 429 and Retry-After when the queue is full or the wait too long.
// A watch holds its seats only until it is established. The response
// names the FlowSchema and priority level by UID. nil is the plain
// in-flight limits' place left empty.
func PriorityAndFairness(f *Fairness) func(http.Handler) http.Handler {
	if f == nil {
		return nil
	}
	// kube-apiserver reports both kinds from the start.
	for _, kind := range []string{"readOnly", "mutating"} {
		inflight.WithLabelValues(kind).Add(0)
		inqueue.WithLabelValues(kind).Add(0)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f.serve(next, w, r) })
	}
}

// classification is what noteFn learns of a request.
type classification struct {
	fsName, plName string
	fsUID, plUID   string
}

func (f *Fairness) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	info, u := request.InfoFrom(r.Context()), request.UserFrom(r.Context())
	if info == nil || u == nil {
		next.ServeHTTP(w, r)
		return
	}
	isWatch := info.Verb == "watch"
	if isLongRunning(info) && !isWatch {
		next.ServeHTTP(w, r)
		return
	}
	// The library reads kube's request info and user from the context
	// (the work estimator, the watch tracker).
	ri := kubeRequestInfo(info)
	ui := &user.DefaultInfo{Name: u.Name, UID: u.UID, Groups: u.Groups, Extra: u.Extra}
	r = r.WithContext(apirequest.WithUser(apirequest.WithRequestInfo(r.Context(), ri), ui))
	ctx := r.Context()

	var c *classification
	note := func(fs *flowcontrolv1.FlowSchema, pl *flowcontrolv1.PriorityLevelConfiguration, _ string) {
		c = &classification{fsName: fs.Name, plName: pl.Name, fsUID: string(fs.UID), plUID: string(pl.UID)}
		request.LogFrom(ctx).Add("apf_pl", pl.Name)
		request.LogFrom(ctx).Add("apf_fs", fs.Name)
	}
	estimate := func() fcrequest.WorkEstimate {
		var fs, pl string
		if c != nil {
			fs, pl = c.fsName, c.plName
		}
		we := f.Estimator(r, fs, pl)
		fcmetrics.ObserveWorkEstimatedSeats(pl, fs, we.MaxSeats())
		return we
	}
	digest := utilflowcontrol.RequestDigest{RequestInfo: ri, User: ui}

	kind := "readOnly"
	if mutatingVerbs[info.Verb] {
		kind = "mutating"
	}
	executing := inflight.WithLabelValues(kind)
	queueNote := queueNoter(ctx, inqueue.WithLabelValues(kind))
	var served bool
	if isWatch {
		served = f.serveWatch(next, w, r, digest, note, estimate, queueNote, &c, executing)
	} else {
		execute := func() {
			served = true
			executing.Inc()
			defer executing.Dec()
			setFairnessHeaders(w, c)
			next.ServeHTTP(w, r)
		}
		waitCtx, cancel := f.waitContext(ctx, info)
		f.Controller.Handle(waitCtx, digest, note, estimate, queueNote, execute)
		cancel()
	}
	if served {
		return
	}
	// Refused: the queue was full, or the wait ran out.
	setFairnessHeaders(w, c)
	pl := ""
	if c != nil {
		pl = c.plName
	}
	f.Dropped.RecordDroppedRequest(pl)
	retry := f.Dropped.GetRetryAfter(pl)
	recordDropped(r, info)
	request.LogFrom(ctx).Add("limit", "apf-rejected")
	w.Header().Set("Retry-After", strconv.FormatInt(retry, 10))
	writeStatusDetails(w, r, http.StatusTooManyRequests, "TooManyRequests", "Too many requests, please try again later.", int32(retry))
}

// queueNoter is the library's note of a request entering (true) and
// leaving (false) its queue: the request counts in queued meanwhile, and
// its wait is left out of its SLI latency (request.TrackQueueWait). The
// library calls it under its lock, from the request's goroutine and then
// from the one that dispatches it.
func queueNoter(ctx context.Context, queued prometheus.Gauge) func(bool) {
	var since time.Time
	return func(in bool) {
		if in {
			since = time.Now()
			queued.Inc()
			return
		}
		queued.Dec()
		request.TrackQueueWait(ctx, time.Since(since))
	}
}

// serveWatch runs the library's Handle beside the watch, as kube's filter
// does: the watch's seats are held from dispatch until the watch handler
// says it is established (request.WatchStarted), or ends. It reports
// whether the watch was served.
func (f *Fairness) serveWatch(next http.Handler, w http.ResponseWriter, r *http.Request, digest utilflowcontrol.RequestDigest,
	note func(*flowcontrolv1.FlowSchema, *flowcontrolv1.PriorityLevelConfiguration, string),
	estimate func() fcrequest.WorkEstimate, queueNote func(bool), c **classification, executing prometheus.Gauge) bool {
	ctx := r.Context()
	start := make(chan struct{})
	established := make(chan struct{})
	var once sync.Once
	signal := func() { once.Do(func() { close(established) }) }
	var forget utilflowcontrol.ForgetWatchFunc
	execute := func() {
		executing.Inc()
		defer executing.Dec()
		setFairnessHeaders(w, *c)
		forget = f.Controller.RegisterWatch(r)
		close(start)
		<-established
	}
	result := make(chan any, 1)
	go func() {
		defer func() {
			p := recover()
			if p != nil && p != http.ErrAbortHandler {
				buf := make([]byte, 64<<10)
				p = fmt.Sprintf("%v\n%s", p, buf[:runtime.Stack(buf, false)])
			}
			result <- p
		}()
		waitCtx, cancel := f.waitContext(ctx, request.InfoFrom(ctx))
		defer cancel()
		f.Controller.Handle(waitCtx, digest, note, estimate, queueNote, execute)
	}()
	select {
	case <-start:
		defer func() {
			if forget != nil {
				forget()
			}
		}()
		func() {
			defer func() {
				signal()
				if p := <-result; p != nil {
					panic(p)
				}
			}()
			next.ServeHTTP(w, r.WithContext(request.WithWatchStarted(ctx, signal)))
		}()
		return true
	case p := <-result:
		if p != nil {
			panic(p)
		}
		return false
	}
}

// waitContext bounds the wait in a queue as kube-apiserver does: a
// quarter of the time left to the request's deadline, or WaitLimit
// without one, and never more than a minute.
func (f *Fairness) waitContext(ctx context.Context, info *request.Info) (context.Context, context.CancelFunc) {
	if ctx.Err() != nil {
		return ctx, func() {}
	}
	arrived := time.Now()
	if info != nil && !info.Received.IsZero() {
		arrived = info.Received
	}
	limit := f.WaitLimit
	if deadline, ok := ctx.Deadline(); ok {
		limit = deadline.Sub(arrived) / 4
	}
	limit = min(limit, time.Minute)
	return context.WithDeadline(ctx, arrived.Add(limit))
}

// setFairnessHeaders names the FlowSchema and priority level by UID, as
// kube-apiserver does (the names could tell a client it is deprioritised).
func setFairnessHeaders(w http.ResponseWriter, c *classification) {
	if c == nil {
		return
	}
	w.Header().Set(flowcontrolv1.ResponseHeaderMatchedPriorityLevelConfigurationUID, c.plUID)
	w.Header().Set(flowcontrolv1.ResponseHeaderMatchedFlowSchemaUID, c.fsUID)
}

// kubeRequestInfo is kapi's request info as k8s.io/apiserver's.
func kubeRequestInfo(info *request.Info) *apirequest.RequestInfo {
	return &apirequest.RequestInfo{
		IsResourceRequest: info.IsResourceRequest, Path: info.Path, Verb: info.Verb,
		APIPrefix: info.APIPrefix, APIGroup: info.APIGroup, APIVersion: info.APIVersion,
		Namespace: info.Namespace, Resource: info.Resource, Subresource: info.Subresource,
		Name: info.Name, Parts: info.Parts,
	}
}
