package controllers

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
)

// APIServiceAvailability keeps the Available condition of the
// APIServices backed by a Service, as kube-aggregator's remote
// availability controller: the Service must exist and listen on the
// port, its EndpointSlices must have a ready address on that port, and
// the extension must answer its discovery document (Probe); the reasons
// and messages are kube's (ServiceNotFound, ServiceAccessError,
// ServicePortError, EndpointsNotFound, MissingEndpoints,
// FailedDiscoveryCheck, Passed). The proxy serves an APIService only
// while it is Available.
//
// It looks again after any change of an APIService, Service or
// EndpointSlice, every Period, and (as kube requeues a failure) after
// Retry while one is failing.
type APIServiceAvailability struct {
	APIServices, Services, Slices *Informer
	Client                        aggregator.Interface
	// Probe is the discovery check of an APIService's server.
	Probe func(ctx context.Context, s *apiregistrationv1.APIService) error
	// Period is how often everything is checked again (kube: 30 s);
	// Retry how soon a failing one is.
	Period, Retry time.Duration
}

// Run works until ctx ends.
func (c *APIServiceAvailability) Run(ctx context.Context) {
	if c.Period == 0 {
		c.Period = 30 * time.Second
	}
	if c.Retry == 0 {
		c.Retry = 5 * time.Second
	}
	changes := []<-chan struct{}{c.APIServices.Changed(ctx), c.Services.Changed(ctx), c.Slices.Changed(ctx)}
	if !waitSynced(ctx, c.APIServices, c.Services, c.Slices) {
		return
	}
	defer availability.set(c, nil)
	for {
		wait := c.Period
		if failing := c.syncAll(ctx); failing {
			wait = c.Retry
		}
		select {
		case <-ctx.Done():
			return
		case <-changes[0]:
		case <-changes[1]:
		case <-changes[2]:
		case <-time.After(wait):
		}
	}
}

// syncAll checks every remote APIService at once (a slow server delays
// nobody else's check); it reports whether one is not available. The
// availability gauge gets every APIService's, the local ones' always
// available, as kube's local availability controller makes them.
func (c *APIServiceAvailability) syncAll(ctx context.Context) (failing bool) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	available := map[string]bool{}
	for _, o := range c.APIServices.List("") {
		s := o.(*apiregistrationv1.APIService)
		if s.Spec.Service == nil {
			available[s.Name] = true
			continue
		}
		wg.Go(func() {
			cond := c.check(ctx, s)
			ok := cond.Status == apiregistrationv1.ConditionTrue
			mu.Lock()
			available[s.Name] = ok
			failing = failing || !ok
			mu.Unlock()
			c.write(ctx, s, cond)
		})
	}
	wg.Wait()
	availability.set(c, available)
	return failing
}

// check is kube's sequence of checks, the first failing one deciding.
func (c *APIServiceAvailability) check(ctx context.Context, s *apiregistrationv1.APIService) apiregistrationv1.APIServiceCondition {
	ref := s.Spec.Service
	port := int32(443)
	if ref.Port != nil {
		port = *ref.Port
	}
	cond := func(status apiregistrationv1.ConditionStatus, reason, format string, args ...any) apiregistrationv1.APIServiceCondition {
		return apiregistrationv1.APIServiceCondition{Type: apiregistrationv1.Available, Status: status, Reason: reason, Message: fmt.Sprintf(format, args...)}
	}
	false_ := apiregistrationv1.ConditionFalse
	o, ok := c.Services.Get(ref.Namespace, ref.Name)
	if !ok {
		return cond(false_, "ServiceNotFound", "service/%s in %q is not present", ref.Name, ref.Namespace)
	}
	svc, ok := o.(*corev1.Service)
	if !ok {
		return cond(apiregistrationv1.ConditionUnknown, "ServiceAccessError", "service/%s in %q cannot be checked due to: %v", ref.Name, ref.Namespace, fmt.Errorf("unexpected object %T", o))
	}
	if svc.Spec.Type == corev1.ServiceTypeClusterIP || svc.Spec.Type == "" {
		portName, found := "", false
		for _, p := range svc.Spec.Ports {
			if p.Port == port {
				portName, found = p.Name, true
				break
			}
		}
		if !found {
			return cond(false_, "ServicePortError", "service/%s in %q is not listening on port %d", ref.Name, ref.Namespace, port)
		}
		var slices []*discoveryv1.EndpointSlice
		for _, o := range c.Slices.List(ref.Namespace) {
			if es := o.(*discoveryv1.EndpointSlice); es.Labels[discoveryv1.LabelServiceName] == ref.Name {
				slices = append(slices, es)
			}
		}
		if len(slices) == 0 {
			return cond(false_, "EndpointsNotFound", "cannot find endpointslices for service/%s in %q", ref.Name, ref.Namespace)
		}
		if !hasReadyEndpoint(portName, slices) {
			return cond(false_, "MissingEndpoints", "endpointslices for service/%s in %q have no addresses with port name %q", ref.Name, ref.Namespace, portName)
		}
	}
	if err := c.Probe(ctx, s); err != nil {
		return cond(false_, "FailedDiscoveryCheck", "%v", err)
	}
	return cond(apiregistrationv1.ConditionTrue, "Passed", "all checks passed")
}

// hasReadyEndpoint is kube's hasAvailableEndpoint: a ready address on a
// slice that has the port of that name.
func hasReadyEndpoint(portName string, slices []*discoveryv1.EndpointSlice) bool {
	for _, es := range slices {
		hasPort := false
		for _, p := range es.Ports {
			if p.Name != nil && *p.Name == portName || p.Name == nil && portName == "" {
				hasPort = true
			}
		}
		if !hasPort {
			continue
		}
		for _, ep := range es.Endpoints {
			if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
				return true
			}
		}
	}
	return false
}

// write sets cond when its status, reason or message differ from what
// is stored (the transition time changes with the status only, as
// kube's SetAPIServiceCondition).
func (c *APIServiceAvailability) write(ctx context.Context, s *apiregistrationv1.APIService, cond apiregistrationv1.APIServiceCondition) {
	next := s.DeepCopy()
	cond.LastTransitionTime = metav1.Now()
	var was *apiregistrationv1.APIServiceCondition
	for i, cur := range next.Status.Conditions {
		if cur.Type != cond.Type {
			continue
		}
		was = &s.Status.Conditions[i]
		if cur.Status == cond.Status && cur.Reason == cond.Reason && cur.Message == cond.Message {
			return
		}
		if cur.Status == cond.Status {
			cond.LastTransitionTime = cur.LastTransitionTime
		}
		next.Status.Conditions[i] = cond
	}
	if was == nil {
		next.Status.Conditions = append(next.Status.Conditions, cond)
	}
	klog.V(2).InfoS("changing APIService availability", "name", s.Name, "status", cond.Status, "reason", cond.Reason, "message", cond.Message)
	_, err := c.Client.ApiregistrationV1().APIServices().UpdateStatus(ctx, next, metav1.UpdateOptions{})
	switch {
	case err == nil:
		countUnavailable(s.Name, was, &cond)
	case !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) && ctx.Err() == nil:
		klog.ErrorS(err, "writing the APIService's availability", "name", s.Name)
	}
}
