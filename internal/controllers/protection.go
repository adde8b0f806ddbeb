package controllers

import (
	"context"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// The StorageObjectInUseProtection admission plugin puts these finalizers
// on every claim and volume; kube-controller-manager's protection loops
// take them off a claim or volume being deleted once nothing uses it.
// Without the loops a namespace holding a claim could never go.
const (
	pvcProtection = "kubernetes.io/pvc-protection"
	pvProtection  = "kubernetes.io/pv-protection"
)

var (
	pvcGVR  = schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}
	pvGVR   = schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumes"}
	podsGVR = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
)

// ClaimProtection removes the pvc-protection finalizer from a claim being
// deleted once no pod that has not terminated uses it (by name, or as
// the claim of a generic ephemeral volume), as kube's
// pvc-protection-controller.
type ClaimProtection struct {
	env    *Env
	client kubernetes.Interface
}

// NewClaimProtection returns the loop; it acts as
// kube-system/pvc-protection-controller.
func NewClaimProtection(env *Env) *ClaimProtection {
	return &ClaimProtection{env: env, client: kubernetes.NewForConfigOrDie(env.ClientFor("pvc-protection-controller"))}
}

// Run works until ctx ends.
func (c *ClaimProtection) Run(ctx context.Context) {
	queue := NewQueue[types.NamespacedName]("pvcprotection")
	claims, pods := c.env.Informers.For(pvcGVR), c.env.Informers.For(podsGVR)
	claims.Handle(ctx, func(ev Event) {
		if m := ev.Object.(*corev1.PersistentVolumeClaim); m.DeletionTimestamp != nil && slices.Contains(m.Finalizers, pvcProtection) {
			queue.Add(types.NamespacedName{Namespace: m.Namespace, Name: m.Name})
		}
	})
	// A pod that goes or ends may free its claims.
	pods.Handle(ctx, func(ev Event) {
		p := ev.Object.(*corev1.Pod)
		for _, v := range p.Spec.Volumes {
			if name := claimOf(p, v); name != "" {
				queue.Add(types.NamespacedName{Namespace: p.Namespace, Name: name})
			}
		}
	})
	work(ctx, queue, "claim protection", func(key types.NamespacedName) error {
		obj, ok := claims.Get(key.Namespace, key.Name)
		if !ok {
			return nil
		}
		pvc := obj.(*corev1.PersistentVolumeClaim)
		if pvc.DeletionTimestamp == nil || !slices.Contains(pvc.Finalizers, pvcProtection) {
			return nil
		}
		if used, err := c.inUse(ctx, pods.List(pvc.Namespace), pvc); used || err != nil {
			return err
		}
		next := pvc.DeepCopy()
		next.Finalizers = slices.DeleteFunc(next.Finalizers, func(f string) bool { return f == pvcProtection })
		_, err := c.client.CoreV1().PersistentVolumeClaims(key.Namespace).Update(ctx, next, metav1.UpdateOptions{})
		return ignoreGoneOrConflict(err)
	}, pods, claims)
}

// inUse tells whether a pod that has not terminated uses pvc: one of
// cached (the informer's pods of its namespace), or, when none does, one
// of a live list, as kube's controller asks the API server before it lets
// a claim go: a pod created a moment ago may not be in the informer yet.
func (c *ClaimProtection) inUse(ctx context.Context, cached []runtime.Object, pvc *corev1.PersistentVolumeClaim) (bool, error) {
	for _, o := range cached {
		if usesClaim(o.(*corev1.Pod), pvc.Name) {
			return true, nil
		}
	}
	live, err := c.client.CoreV1().Pods(pvc.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, err
	}
	for i := range live.Items {
		if usesClaim(&live.Items[i], pvc.Name) {
			return true, nil
		}
	}
	return false, nil
}

// usesClaim: p has not terminated and has a volume of the claim.
func usesClaim(p *corev1.Pod, claim string) bool {
	if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return false
	}
	for _, v := range p.Spec.Volumes {
		if claimOf(p, v) == claim {
			return true
		}
	}
	return false
}

// claimOf names the claim volume v of pod p uses: its own, or the one
// made for a generic ephemeral volume (<pod>-<volume>).
func claimOf(p *corev1.Pod, v corev1.Volume) string {
	switch {
	case v.PersistentVolumeClaim != nil:
		return v.PersistentVolumeClaim.ClaimName
	case v.Ephemeral != nil:
		return p.Name + "-" + v.Name
	}
	return ""
}

// VolumeProtection removes the pv-protection finalizer from a volume
// being deleted once it is not bound, as kube's pv-protection-controller.
type VolumeProtection struct {
	env    *Env
	client kubernetes.Interface
}

// NewVolumeProtection returns the loop; it acts as
// kube-system/pv-protection-controller.
func NewVolumeProtection(env *Env) *VolumeProtection {
	return &VolumeProtection{env: env, client: kubernetes.NewForConfigOrDie(env.ClientFor("pv-protection-controller"))}
}

// Run works until ctx ends.
func (c *VolumeProtection) Run(ctx context.Context) {
	queue := NewQueue[string]("pvprotection")
	volumes := c.env.Informers.For(pvGVR)
	volumes.Handle(ctx, func(ev Event) {
		if m := ev.Object.(*corev1.PersistentVolume); m.DeletionTimestamp != nil && slices.Contains(m.Finalizers, pvProtection) {
			queue.Add(m.Name)
		}
	})
	work(ctx, queue, "volume protection", func(name string) error {
		obj, ok := volumes.Get("", name)
		if !ok {
			return nil
		}
		pv := obj.(*corev1.PersistentVolume)
		if pv.DeletionTimestamp == nil || !slices.Contains(pv.Finalizers, pvProtection) || pv.Status.Phase == corev1.VolumeBound {
			return nil
		}
		next := pv.DeepCopy()
		next.Finalizers = slices.DeleteFunc(next.Finalizers, func(f string) bool { return f == pvProtection })
		_, err := c.client.CoreV1().PersistentVolumes().Update(ctx, next, metav1.UpdateOptions{})
		return ignoreGoneOrConflict(err)
	}, volumes)
}

// ignoreGoneOrConflict: an object gone needs nothing more; one changed
// meanwhile comes back through the informer.
func ignoreGoneOrConflict(err error) error {
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}
