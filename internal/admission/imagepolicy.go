package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	imagepolicyv1alpha1 "k8s.io/api/imagepolicy/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/cache"
	webhookutil "k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"kapi/internal/audit"
	"kapi/internal/x509metrics"
)

// ImagePolicyWebhook is kube's plugin of that name: the images of a pod
// created or updated (or of its ephemeral containers) are sent to a
// webhook as an ImageReview (imagepolicy.k8s.io/v1alpha1), with the pod's
// annotations that contain ".image-policy.k8s.io/"; a denial refuses the
// pod. Answers are cached (allowTTL, denyTTL); a webhook that cannot be
// reached refuses the pod unless defaultAllow, which lets it through with
// the audit annotation imagepolicywebhook.image-policy.k8s.io/failed-open.
// The webhook client is k8s.io/apiserver's generic webhook, kube's own.
type ImagePolicyWebhook struct {
	hook              *webhookutil.GenericWebhook
	cache             *cache.LRUExpireCache
	allowTTL, denyTTL time.Duration
	defaultAllow      bool
}

const imagePolicyAuditPrefix = "imagepolicywebhook.image-policy.k8s.io/"

// Kube's configuration bounds: TTLs in seconds and the backoff in
// milliseconds, 0 for the default, -1 for none.
const (
	imagePolicyDefaultBackoff  = 500 * time.Millisecond
	imagePolicyDefaultAllowTTL = 5 * time.Minute
	imagePolicyDefaultDenyTTL  = 30 * time.Second
)

// NewImagePolicyWebhook reads the plugin's configuration (its
// "imagePolicy": kubeConfigFile, allowTTL, denyTTL, retryBackoff,
// defaultAllow) and the webhook's kubeconfig.
func NewImagePolicyWebhook(config []byte) (*ImagePolicyWebhook, error) {
	var c struct {
		ImagePolicy struct {
			KubeConfigFile string `json:"kubeConfigFile"`
			AllowTTL       int64  `json:"allowTTL"`
			DenyTTL        int64  `json:"denyTTL"`
			RetryBackoff   int64  `json:"retryBackoff"`
			DefaultAllow   bool   `json:"defaultAllow"`
		} `json:"imagePolicy"`
	}
	if len(config) == 0 {
		return nil, errors.New("no config specified")
	}
	if err := json.Unmarshal(config, &c); err != nil {
		return nil, err
	}
	ip := c.ImagePolicy
	backoff, err := imagePolicyDuration("backoff", time.Millisecond, ip.RetryBackoff, 1, 5*time.Minute, imagePolicyDefaultBackoff)
	if err != nil {
		return nil, err
	}
	allow, err := imagePolicyDuration("allow cache", time.Second, ip.AllowTTL, time.Second, 30*time.Minute, imagePolicyDefaultAllowTTL)
	if err != nil {
		return nil, err
	}
	deny, err := imagePolicyDuration("deny cache", time.Second, ip.DenyTTL, time.Second, 30*time.Minute, imagePolicyDefaultDenyTTL)
	if err != nil {
		return nil, err
	}
	cfg, err := webhookutil.LoadKubeconfig(ip.KubeConfigFile, nil)
	if err != nil {
		return nil, err
	}
	cfg.Wrap(x509metrics.Wrap)
	scheme := runtime.NewScheme()
	if err := imagepolicyv1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	hook, err := webhookutil.NewGenericWebhook(scheme, serializer.NewCodecFactory(scheme), cfg,
		[]schema.GroupVersion{imagepolicyv1alpha1.SchemeGroupVersion}, webhookutil.DefaultRetryBackoffWithInitialDelay(backoff))
	if err != nil {
		return nil, err
	}
	return &ImagePolicyWebhook{hook: hook, cache: cache.NewLRUExpireCache(1024), allowTTL: allow, denyTTL: deny, defaultAllow: ip.DefaultAllow}, nil
}

// imagePolicyDuration is kube's normalizeConfigDuration.
func imagePolicyDuration(name string, scale time.Duration, value int64, lo, hi, def time.Duration) (time.Duration, error) {
	switch value {
	case -1:
		return 0, nil
	case 0:
		return def, nil
	}
	d := time.Duration(value) * scale
	if d <= lo || d > hi {
		return d, fmt.Errorf("valid value is between %v and %v, got %v", lo, hi, d)
	}
	return d, nil
}

// Validate asks the webhook about the pod's images.
func (p *ImagePolicyWebhook) Validate(ctx context.Context, a *Attributes) error {
	if !is(a, "", "pods") || (a.Subresource != "" && a.Subresource != "ephemeralcontainers") || (a.Operation != Create && a.Operation != Update) {
		return nil
	}
	pod, ok := a.Object.(*corev1.Pod)
	if !ok {
		return apierrors.NewBadRequest("Resource was marked with kind Pod but was unable to be converted")
	}
	var images []imagepolicyv1alpha1.ImageReviewContainerSpec
	if a.Subresource == "" {
		for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
			for _, c := range cs {
				images = append(images, imagepolicyv1alpha1.ImageReviewContainerSpec{Image: c.Image})
			}
		}
	} else {
		for _, c := range pod.Spec.EphemeralContainers {
			images = append(images, imagepolicyv1alpha1.ImageReviewContainerSpec{Image: c.Image})
		}
	}
	annotations := map[string]string{}
	for k, v := range pod.Annotations {
		if strings.Contains(k, ".image-policy.k8s.io/") {
			annotations[k] = v
		}
	}
	review := &imagepolicyv1alpha1.ImageReview{Spec: imagepolicyv1alpha1.ImageReviewSpec{Containers: images, Annotations: annotations, Namespace: a.Namespace}}
	if err := p.review(ctx, review); err != nil {
		return Forbidden(a, err)
	}
	return nil
}

// review answers from the cache or the webhook; the audit annotations
// the webhook gives are the request's.
func (p *ImagePolicyWebhook) review(ctx context.Context, review *imagepolicyv1alpha1.ImageReview) error {
	key, err := json.Marshal(review.Spec)
	if err != nil {
		return err
	}
	if entry, ok := p.cache.Get(string(key)); ok {
		review.Status = entry.(imagepolicyv1alpha1.ImageReviewStatus)
	} else {
		review.APIVersion, review.Kind = imagepolicyv1alpha1.SchemeGroupVersion.String(), "ImageReview"
		result := p.hook.WithExponentialBackoff(ctx, func() rest.Result {
			return p.hook.RestClient.Post().Body(review).Do(ctx)
		})
		var code int
		switch result.StatusCode(&code); {
		case result.Error() != nil:
			return p.failed(ctx, result.Error())
		case code < 200 || code >= 300:
			return p.failed(ctx, fmt.Errorf("Error contacting webhook: %d", code))
		}
		if err := result.Into(review); err != nil {
			return p.failed(ctx, err)
		}
		ttl := p.denyTTL
		if review.Status.Allowed {
			ttl = p.allowTTL
		}
		p.cache.Add(string(key), review.Status, ttl)
	}
	for _, k := range slices.Sorted(maps.Keys(review.Status.AuditAnnotations)) {
		audit.AddAnnotation(ctx, imagePolicyAuditPrefix+k, review.Status.AuditAnnotations[k])
	}
	if !review.Status.Allowed {
		if review.Status.Reason != "" {
			return fmt.Errorf("image policy webhook backend denied one or more images: %s", review.Status.Reason)
		}
		return errors.New("one or more images rejected by webhook backend")
	}
	return nil
}

// failed is kube's webhookError: allowed when defaultAllow, with an
// audit annotation; refused otherwise.
func (p *ImagePolicyWebhook) failed(ctx context.Context, err error) error {
	klog.FromContext(ctx).V(2).Info("error contacting webhook backend", "err", err)
	if p.defaultAllow {
		audit.AddAnnotation(ctx, imagePolicyAuditPrefix+"failed-open", "true")
		return nil
	}
	return err
}
