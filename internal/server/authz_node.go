package server

import (
	"context"
	"fmt"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/watch"

	"kapi/internal/authz/node"
	"kapi/internal/controllers"
	"kapi/internal/registry"
)

// newNodeAuthorizer is the Node authorizer over a graph fed by informers
// of pods, persistent volumes, volume attachments, resource slices and
// pod certificate requests (kube's graph populator), filled before kapi
// serves.
func (s *Server) newNodeAuthorizer(ctx context.Context, stores []*registry.Store) (*node.Authorizer, error) {
	g := node.NewGraph()
	feeds := []struct {
		store *registry.Store
		set   func(any)
		del   func(ns, name string)
	}{
		{findStore(stores, "", "v1", "pods"), func(o any) {
			if p, ok := o.(*corev1.Pod); ok {
				g.SetPod(p)
			}
		}, g.DeletePod},
		{findStore(stores, "", "v1", "persistentvolumes"), func(o any) {
			if pv, ok := o.(*corev1.PersistentVolume); ok {
				g.SetPV(pv)
			}
		}, func(_, name string) { g.DeletePV(name) }},
		{findStore(stores, "storage.k8s.io", "v1", "volumeattachments"), func(o any) {
			if va, ok := o.(*storagev1.VolumeAttachment); ok {
				g.SetVolumeAttachment(va)
			}
		}, func(_, name string) { g.DeleteVolumeAttachment(name) }},
		{findStore(stores, "resource.k8s.io", "v1", "resourceslices"), func(o any) {
			if rs, ok := o.(*resourcev1.ResourceSlice); ok {
				g.SetResourceSlice(rs)
			}
		}, func(_, name string) { g.DeleteResourceSlice(name) }},
		{findStore(stores, "certificates.k8s.io", "v1", "podcertificaterequests"), func(o any) {
			if r, ok := o.(*certificatesv1.PodCertificateRequest); ok {
				g.SetPodCertificateRequest(r)
			}
		}, g.DeletePodCertificateRequest},
	}
	var infs []*controllers.Informer
	for _, f := range feeds {
		inf := controllers.NewInformer(f.store)
		inf.Handle(ctx, func(ev controllers.Event) {
			if ev.Type == watch.Deleted {
				if m, ok := ev.Object.(interface {
					GetNamespace() string
					GetName() string
				}); ok {
					f.del(m.GetNamespace(), m.GetName())
				}
				return
			}
			f.set(ev.Object)
		})
		s.runNow(ctx, inf.Run)
		infs = append(infs, inf)
	}
	t := time.NewTimer(rbacSyncTimeout)
	defer t.Stop()
	for _, inf := range infs {
		select {
		case <-inf.Synced():
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
			return nil, fmt.Errorf("Node authorizer: the caches did not fill within %s", rbacSyncTimeout)
		}
	}
	return node.New(g), nil
}
