package controllers

import (
	"context"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/klog/v2"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"

	"kapi/internal/registry"
	"kapi/internal/registry/apiregistration"
	"kapi/internal/storage"
)

// APIServices registers an APIService for every group-version kapi
// serves, as kube-apiserver's autoregister controller does for the
// built-in ones (labelled kube-aggregator.kubernetes.io/automanaged:
// onstart) and its CRD registration controller for the custom ones
// (automanaged: true, removed with their last CRD), and marks the local
// ones Available, as the aggregator's availability controller does:
// `kubectl get apiservices` reads as on a cluster. (APIServices backed by
// a Service are the aggregation issue's.) Every replica runs it, as
// every kube-apiserver does; the writes are idempotent.
type APIServices struct {
	Catalogue *registry.Catalogue
	// Store is the apiservices store, read through an informer; Client
	// writes, as system:apiserver.
	Store  *registry.Store
	Client aggregator.Interface
	// Resync is how often everything is looked at again (a failed write
	// is retried then).
	Resync time.Duration
}

const automanaged = "kube-aggregator.kubernetes.io/automanaged"

// Run works until ctx ends.
func (c *APIServices) Run(ctx context.Context) {
	if c.Resync == 0 {
		c.Resync = time.Minute
	}
	inf := NewInformer(c.Store)
	changed, catalogue := inf.Changed(ctx), c.Catalogue.SubscribeUntil(ctx)
	go inf.Run(ctx)
	if !waitSynced(ctx, inf) {
		return
	}
	onStart := true
	for {
		c.sync(ctx, inf, onStart)
		onStart = false
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-catalogue:
		case <-time.After(c.Resync):
		}
	}
}

// Completion is kube's "autoregister-completion" health check: every
// APIService the catalogue's group-versions need exists.
func (c *APIServices) Completion(ctx context.Context) error {
	list, err := c.Store.ListShared(ctx, "", &metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, o := range list.Items {
		have[storage.Unwrap(o).(*apiregistrationv1.APIService).Name] = true
	}
	var missing []string
	for name := range DesiredAPIServices(c.Catalogue.Snapshot()) {
		if !have[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("missing APIService: %v", missing)
	}
	return nil
}

// sync brings the APIServices in line with the catalogue: built-in
// group-versions are registered at start (an administrator's later
// change stays, as kube's "onstart"), custom ones kept in line always.
func (c *APIServices) sync(ctx context.Context, inf *Informer, onStart bool) {
	want := DesiredAPIServices(c.Catalogue.Snapshot())
	api := c.Client.ApiregistrationV1().APIServices()
	for name, w := range want {
		o, ok := inf.Get("", name)
		switch {
		case !ok:
			// (A first start wrote the built-in ones at once: this
			// registers those of custom resources, and of a newer kapi.)
			if _, err := api.Create(ctx, w, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				klog.ErrorS(err, "registering the APIService", "name", name)
			}
		case o.(*apiregistrationv1.APIService).Labels[automanaged] == "true" || onStart && o.(*apiregistrationv1.APIService).Labels[automanaged] == "onstart":
			cur := o.(*apiregistrationv1.APIService)
			if cur.Spec.Group == w.Spec.Group && cur.Spec.Version == w.Spec.Version && cur.Spec.Service == nil &&
				cur.Spec.GroupPriorityMinimum == w.Spec.GroupPriorityMinimum && cur.Spec.VersionPriority == w.Spec.VersionPriority &&
				cur.Labels[automanaged] == w.Labels[automanaged] {
				continue
			}
			next := cur.DeepCopy()
			next.Spec, next.Labels = w.Spec, w.Labels
			if _, err := api.Update(ctx, next, metav1.UpdateOptions{}); err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
				klog.ErrorS(err, "updating the APIService", "name", name)
			}
		}
	}
	for _, o := range inf.List("") {
		s := o.(*apiregistrationv1.APIService)
		if _, ok := want[s.Name]; !ok && s.Labels[automanaged] == "true" {
			if err := api.Delete(ctx, s.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &s.UID}}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				klog.ErrorS(err, "removing the APIService", "name", s.Name)
			}
			continue
		}
		if s.Spec.Service == nil && !locallyAvailable(s) {
			next := s.DeepCopy()
			SetAvailable(next)
			if _, err := api.UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
				klog.ErrorS(err, "marking the APIService available", "name", s.Name)
			}
		}
	}
}

// DesiredAPIServices are the APIServices of the catalogue's
// group-versions, by name (<version>.<group>; "v1." for the core group).
// A built-in group-version kube gives no priority gets none, as in kube.
func DesiredAPIServices(snap *registry.Snapshot) map[string]*apiregistrationv1.APIService {
	out := map[string]*apiregistrationv1.APIService{}
	builtin := map[*registry.Store]bool{}
	for _, st := range snap.Owner(registry.BuiltinOwner) {
		builtin[st] = true
	}
	for _, st := range snap.Stores() {
		gv := st.R.GVR().GroupVersion()
		name := gv.Version + "." + gv.Group
		if _, ok := out[name]; ok {
			continue
		}
		s := &apiregistrationv1.APIService{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: apiregistrationv1.APIServiceSpec{Group: gv.Group, Version: gv.Version}}
		if builtin[st] {
			p, ok := apiServicePriorities[gv]
			if !ok {
				continue
			}
			s.Labels = map[string]string{automanaged: "onstart"}
			s.Spec.GroupPriorityMinimum, s.Spec.VersionPriority = p[0], p[1]
		} else {
			// kube's CRD registration: low priority; versions sorted
			// kube-like among themselves.
			s.Labels = map[string]string{automanaged: "true"}
			s.Spec.GroupPriorityMinimum, s.Spec.VersionPriority = 1000, 100
		}
		out[name] = s
	}
	return out
}

func locallyAvailable(s *apiregistrationv1.APIService) bool {
	for _, c := range s.Status.Conditions {
		if c.Type == apiregistrationv1.Available {
			return c.Status == apiregistrationv1.ConditionTrue && c.Reason == "Local"
		}
	}
	return false
}

// SetAvailable marks an APIService that kapi serves itself available, as
// the loop does ("Local").
func SetAvailable(s *apiregistrationv1.APIService) {
	cond := apiregistration.LocalAvailable()
	for i, c := range s.Status.Conditions {
		if c.Type == apiregistrationv1.Available {
			s.Status.Conditions[i] = cond
			return
		}
	}
	s.Status.Conditions = append(s.Status.Conditions, cond)
}

// apiServicePriorities are kube-apiserver's group and version priorities
// of the built-in group-versions kapi serves (kube's
// DefaultGenericAPIServicePriorities and kube-apiserver's additions;
// apiregistration.k8s.io's is the aggregator's own).
var apiServicePriorities = map[schema.GroupVersion][2]int32{
	{Group: "", Version: "v1"}:                             {18000, 1},
	{Group: "apiregistration.k8s.io", Version: "v1"}:       {18000, 15},
	{Group: "apps", Version: "v1"}:                         {17800, 15},
	{Group: "events.k8s.io", Version: "v1"}:                {17750, 15},
	{Group: "authentication.k8s.io", Version: "v1"}:        {17700, 15},
	{Group: "authorization.k8s.io", Version: "v1"}:         {17600, 15},
	{Group: "autoscaling", Version: "v1"}:                  {17500, 15},
	{Group: "autoscaling", Version: "v2"}:                  {17500, 30},
	{Group: "batch", Version: "v1"}:                        {17400, 15},
	{Group: "certificates.k8s.io", Version: "v1"}:          {17300, 15},
	{Group: "networking.k8s.io", Version: "v1"}:            {17200, 15},
	{Group: "policy", Version: "v1"}:                       {17100, 15},
	{Group: "rbac.authorization.k8s.io", Version: "v1"}:    {17000, 15},
	{Group: "storage.k8s.io", Version: "v1"}:               {16800, 15},
	{Group: "apiextensions.k8s.io", Version: "v1"}:         {16700, 15},
	{Group: "admissionregistration.k8s.io", Version: "v1"}: {16700, 15},
	{Group: "scheduling.k8s.io", Version: "v1"}:            {16600, 15},
	{Group: "coordination.k8s.io", Version: "v1"}:          {16500, 15},
	{Group: "node.k8s.io", Version: "v1"}:                  {16300, 15},
	{Group: "discovery.k8s.io", Version: "v1"}:             {16200, 15},
	{Group: "resource.k8s.io", Version: "v1"}:              {16200, 21},
	{Group: "flowcontrol.apiserver.k8s.io", Version: "v1"}: {16100, 21},
	{Group: "storagemigration.k8s.io", Version: "v1"}:      {15800, 15},
}
