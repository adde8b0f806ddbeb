package controllers

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/workqueue"
)

// LegacyTokenTrackingConfigMap is the ConfigMap in kube-system whose
// "since" says from which day the API server has tracked the use of
// secret-based service-account tokens. kube-controller-manager's
// legacy-service-account-token-cleaner reads it (and logs an error while
// it is missing).
const LegacyTokenTrackingConfigMap = "kube-apiserver-legacy-service-account-token-tracking"

const (
	recreateEvery          = 30 * time.Minute
	legacyTokenTrackingKey = "since"
	legacyTokenDateFormat  = "2006-01-02"
)

// LegacyTokenTracking publishes that ConfigMap as kube-apiserver does on
// every replica (legacytokentracking.Controller): it makes it when it is
// missing, with today's date (UTC), and puts a date back when "since" is
// not one; it never moves a valid date. A replica makes it at most once
// every 30 minutes, as kube-apiserver's limiter, so that a deleted one
// comes back at the next start or within half an hour (kube's reason:
// replicas of which some track and some do not would otherwise fight).
type LegacyTokenTracking struct {
	client kubernetes.Interface
	inf    *Informer
	queue  workqueue.TypedRateLimitingInterface[string]
	// created is when this replica last made it: re-creation waits
	// recreateEvery after.
	created time.Time
	now     func() time.Time
}

// NewLegacyTokenTracking returns the loop; configMaps is an informer of
// ConfigMaps that the caller runs, client writes as kube-apiserver's
// loopback user.
func NewLegacyTokenTracking(client kubernetes.Interface, configMaps *Informer) *LegacyTokenTracking {
	return &LegacyTokenTracking{client: client, inf: configMaps,
		queue: NewQueue[string]("legacy_token_tracking_controller"), now: time.Now}
}

// Run works until ctx ends.
func (c *LegacyTokenTracking) Run(ctx context.Context) {
	c.inf.Handle(ctx, func(ev Event) {
		if cm := ev.Object.(*corev1.ConfigMap); cm.Namespace == metav1.NamespaceSystem && cm.Name == LegacyTokenTrackingConfigMap {
			c.queue.Add(LegacyTokenTrackingConfigMap)
		}
	})
	c.queue.Add(LegacyTokenTrackingConfigMap)
	work(ctx, c.queue, "ConfigMap in "+metav1.NamespaceSystem, func(string) error { return c.sync(ctx) }, c.inf)
}

func (c *LegacyTokenTracking) sync(ctx context.Context) error {
	now := c.now()
	today := now.UTC().Format(legacyTokenDateFormat)
	obj, ok := c.inf.Get(metav1.NamespaceSystem, LegacyTokenTrackingConfigMap)
	if !ok {
		if next := c.created.Add(recreateEvery); !c.created.IsZero() && now.Before(next) {
			c.queue.AddAfter(LegacyTokenTrackingConfigMap, next.Sub(now))
			return nil
		}
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceSystem, Name: LegacyTokenTrackingConfigMap},
			Data: map[string]string{legacyTokenTrackingKey: today}}
		_, err := c.client.CoreV1().ConfigMaps(metav1.NamespaceSystem).Create(ctx, cm, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil // another replica's
		}
		if err == nil {
			c.created = now // a failed attempt does not count
		}
		return err
	}
	cm := obj.(*corev1.ConfigMap)
	if _, err := time.Parse(legacyTokenDateFormat, cm.Data[legacyTokenTrackingKey]); err == nil {
		return nil
	}
	cm = cm.DeepCopy()
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data[legacyTokenTrackingKey] = today
	_, err := c.client.CoreV1().ConfigMaps(metav1.NamespaceSystem).Update(ctx, cm, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // the informer brings the change here
	}
	return err
}
