package admission

import (
	"context"
	"errors"
	"fmt"
	"sync"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/component-base/metrics/legacyregistry"
	psadmission "k8s.io/pod-security-admission/admission"
	psconfig "k8s.io/pod-security-admission/admission/api"
	psload "k8s.io/pod-security-admission/admission/api/load"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/metrics"
	pspolicy "k8s.io/pod-security-admission/policy"

	"kapi/internal/audit"
	"kapi/internal/request"
)

// PodSecurity is kube-apiserver's plugin of the same name: the Pod
// Security Standards, chosen per namespace by its labels
// pod-security.kubernetes.io/enforce, audit and warn (each with a
// -version). A pod that breaks the namespace's enforce level is refused;
// the audit level adds audit annotations, the warn level warnings; the
// objects with a pod template (deployments, daemonsets, statefulsets,
// replicasets, replicationcontrollers, jobs, cronjobs, podtemplates) are
// never refused, only warned and audited. Changing a namespace's labels
// is checked (invalid levels refused) and warns about its existing pods
// that the new enforce level would refuse.
//
// The evaluation is k8s.io/pod-security-admission's admission and policy
// packages: the standards' reference implementation, the code
// kube-apiserver itself runs for this plugin, so the checks and messages
// are kube's by construction. kapi adapts the attributes, reads
// namespaces and pods from its caches, and turns the answer into kube's
// error, warnings and audit annotations.
type PodSecurity struct {
	delegate *psadmission.Admission
}

// NewPodSecurity makes the plugin with the configuration an
// AdmissionConfiguration gives it (its defaults and exemptions); nil
// means kube's defaults: privileged at the latest version, no exemptions.
func NewPodSecurity(cfg *psconfig.PodSecurityConfiguration, namespaces, pods Objects) (*PodSecurity, error) {
	if cfg == nil {
		var err error
		if cfg, err = psload.LoadFromData(nil); err != nil {
			return nil, err
		}
	}
	evaluator, err := pspolicy.NewEvaluator(pspolicy.DefaultChecks(), nil)
	if err != nil {
		return nil, err
	}
	d := &psadmission.Admission{
		Configuration:    cfg,
		Evaluator:        evaluator,
		Metrics:          podSecurityMetrics(),
		PodSpecExtractor: psadmission.DefaultPodSpecExtractor{},
		NamespaceGetter:  podSecurityNamespaces{namespaces},
		PodLister:        podSecurityPods{pods},
	}
	if err := d.CompleteConfiguration(); err != nil {
		return nil, err
	}
	if err := d.ValidateConfiguration(); err != nil {
		return nil, err
	}
	return &PodSecurity{delegate: d}, nil
}

// PodSecurityConfiguration reads a PodSecurityConfiguration
// (pod-security.admission.config.k8s.io v1, v1beta1 or v1alpha1), as an
// AdmissionConfiguration carries it; empty data gives the defaults.
func PodSecurityConfiguration(data []byte) (*psconfig.PodSecurityConfiguration, error) {
	return psload.LoadFromData(data)
}

// Validate checks creates and updates of pods, namespaces and the
// objects with a pod template.
func (p *PodSecurity) Validate(ctx context.Context, a *Attributes) error {
	if a.Operation != Create && a.Operation != Update {
		return nil
	}
	gr := a.Resource.GVR().GroupResource()
	if !is(a, "", "pods") && !is(a, "", "namespaces") && !p.delegate.PodSpecExtractor.HasPodSpec(gr) {
		return nil
	}
	res := p.delegate.Validate(ctx, podSecurityAttributes{a})
	for _, w := range res.Warnings {
		request.AddWarning(ctx, w)
	}
	for k, v := range res.AuditAnnotations {
		audit.AddAnnotation(ctx, psapi.AuditAnnotationPrefix+k, v)
	}
	if res.Allowed {
		return nil
	}
	// kube's answer: a generic refusal, with the library's message,
	// reason, details and code where it gives them.
	err := Forbidden(a, errors.New("Not allowed by PodSecurity")).(*apierrors.StatusError)
	if r := res.Result; r != nil {
		if r.Message != "" {
			err.ErrStatus.Message = r.Message
		}
		if r.Reason != "" {
			err.ErrStatus.Reason = r.Reason
		}
		if r.Details != nil {
			err.ErrStatus.Details = r.Details
		}
		if r.Code != 0 {
			err.ErrStatus.Code = r.Code
		}
	}
	return err
}

// podSecurityAttributes are kapi's attributes as the library reads them.
type podSecurityAttributes struct{ a *Attributes }

func (p podSecurityAttributes) GetName() string      { return p.a.Name }
func (p podSecurityAttributes) GetNamespace() string { return p.a.Namespace }
func (p podSecurityAttributes) GetResource() schema.GroupVersionResource {
	return p.a.Resource.GVR()
}
func (p podSecurityAttributes) GetKind() schema.GroupVersionKind { return p.a.Kind }
func (p podSecurityAttributes) GetSubresource() string           { return p.a.Subresource }
func (p podSecurityAttributes) GetOperation() admissionv1.Operation {
	return admissionv1.Operation(p.a.Operation)
}
func (p podSecurityAttributes) GetObject() (runtime.Object, error)    { return p.a.Object, nil }
func (p podSecurityAttributes) GetOldObject() (runtime.Object, error) { return p.a.OldObject, nil }
func (p podSecurityAttributes) GetUserName() string {
	if p.a.User == nil {
		return ""
	}
	return p.a.User.Name
}

// podSecurityNamespaces reads namespaces for the library.
type podSecurityNamespaces struct{ objs Objects }

func (n podSecurityNamespaces) GetNamespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	obj, err := n.objs.Get(ctx, "", name)
	if err != nil {
		return nil, err
	}
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return nil, fmt.Errorf("namespace %q is a %T", name, obj)
	}
	return ns, nil
}

// podSecurityPods lists a namespace's pods for the library (which only
// reads them).
type podSecurityPods struct{ objs Objects }

func (l podSecurityPods) ListPods(ctx context.Context, ns string) ([]*corev1.Pod, error) {
	objs, err := l.objs.List(ctx, ns)
	if err != nil {
		return nil, err
	}
	pods := make([]*corev1.Pod, 0, len(objs))
	for _, o := range objs {
		if pod, ok := o.(*corev1.Pod); ok {
			pods = append(pods, pod)
		}
	}
	return pods, nil
}

// podSecurityMetrics is kube-apiserver's recorder of the library's
// metrics (pod_security_evaluations_total, pod_security_exemptions_total,
// pod_security_errors_total): made once, at the API version kube's is
// made at, and registered in component-base's legacy registry, as kube
// registers it.
var podSecurityMetrics = sync.OnceValue(func() metrics.Recorder {
	r := metrics.NewPrometheusRecorder(psapi.GetAPIVersion())
	r.MustRegister(legacyregistry.MustRegister)
	return r
})
