package core

import (
	"math"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The enumerations a pod spec is checked against, as kube-apiserver's
// pkg/apis/core/validation lists them.
var (
	restartPolicies = []string{string(corev1.RestartPolicyAlways), string(corev1.RestartPolicyOnFailure), string(corev1.RestartPolicyNever)}
	dnsPolicies     = []string{string(corev1.DNSClusterFirstWithHostNet), string(corev1.DNSClusterFirst), string(corev1.DNSDefault), string(corev1.DNSNone)}
	pullPolicies    = []string{string(corev1.PullAlways), string(corev1.PullIfNotPresent), string(corev1.PullNever)}
	messagePolicies = []string{string(corev1.TerminationMessageFallbackToLogsOnError), string(corev1.TerminationMessageReadFile)}
	// portProtocols are kube's supportedPortProtocols, in its (sorted)
	// order, of containers', services' and endpoints' ports.
	portProtocols = []string{string(corev1.ProtocolSCTP), string(corev1.ProtocolTCP), string(corev1.ProtocolUDP)}
)

// ValidatePodTemplateSpec checks a workload's pod template as
// kube-apiserver's ValidatePodTemplateSpec does: its labels and
// annotations, then its spec under path.spec.
func ValidatePodTemplateSpec(t *corev1.PodTemplateSpec, path *field.Path) field.ErrorList {
	errs := metav1validation.ValidateLabels(t.Labels, path.Child("metadata", "labels"))
	errs = append(errs, apimachineryvalidation.ValidateAnnotations(t.Annotations, path.Child("metadata", "annotations"))...)
	return append(errs, ValidatePodSpec(&t.Spec, path.Child("spec"))...)
}

// ValidatePodSpec checks the parts of a pod spec people get wrong by hand:
// the containers (at least one, unique DNS-label names, an image, ports,
// pull and termination-message policies, mounts of declared volumes,
// resources), the pod-level resources and the overhead, the volumes'
// names, and the pod-wide policies. Field paths and messages are
// kube-apiserver's. (kube takes the regular containers before the init
// ones, and reports a name both share on the init container; here init
// containers come first.) It is the check of a new spec: kube's ratchet
// for huge pages that are not whole pages needs the old one
// (validatePodSpec with its options).
func ValidatePodSpec(s *corev1.PodSpec, path *field.Path) field.ErrorList {
	return validatePodSpec(s, path, podValidationOptions{})
}

func validatePodSpec(s *corev1.PodSpec, path *field.Path, opts podValidationOptions) field.ErrorList {
	var errs field.ErrorList
	volumes, vErrs := validateVolumes(s.Volumes, path.Child("volumes"))
	errs = append(errs, vErrs...)
	claims := gatherPodResourceClaimNames(s.ResourceClaims)
	opts.hostUsers = s.HostUsers == nil || *s.HostUsers
	// Regular containers first, then init containers, as kube: a name
	// both use is reported on the init container.
	names := sets.New[string]()
	if len(s.Containers) == 0 {
		errs = append(errs, field.Required(path.Child("containers"), ""))
	}
	errs = append(errs, validateContainers(s.Containers, names, volumes, claims, opts, path.Child("containers"))...)
	errs = append(errs, validateContainers(s.InitContainers, names, volumes, claims, opts, path.Child("initContainers"))...)
	ephemeral := make([]corev1.Container, len(s.EphemeralContainers))
	for i := range s.EphemeralContainers {
		ephemeral[i] = corev1.Container(s.EphemeralContainers[i].EphemeralContainerCommon)
	}
	errs = append(errs, validateContainers(ephemeral, names, volumes, claims, opts, path.Child("ephemeralContainers"))...)
	errs = append(errs, validateEphemeralContainers(s, path.Child("ephemeralContainers"))...)
	errs = append(errs, validatePodResources(s, claims, path, opts)...)
	errs = append(errs, validatePodSecurityContext(s, path.Child("securityContext"), opts)...)
	errs = append(errs, enum(string(s.RestartPolicy), restartPolicies, path.Child("restartPolicy"))...)
	errs = append(errs, enum(string(s.DNSPolicy), dnsPolicies, path.Child("dnsPolicy"))...)
	errs = append(errs, metav1validation.ValidateLabels(s.NodeSelector, path.Child("nodeSelector"))...)
	if s.ServiceAccountName != "" {
		for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(s.ServiceAccountName, false) {
			errs = append(errs, field.Invalid(path.Child("serviceAccountName"), s.ServiceAccountName, msg))
		}
	}
	for name, v := range map[string]string{"hostname": s.Hostname, "subdomain": s.Subdomain} {
		if v != "" {
			for _, msg := range validation.IsDNS1123Label(v) {
				errs = append(errs, field.Invalid(path.Child(name), v, msg))
			}
		}
	}
	if s.SchedulerName != "" {
		for _, msg := range validation.IsDNS1123Subdomain(s.SchedulerName) {
			errs = append(errs, field.Invalid(path.Child("schedulerName"), s.SchedulerName, msg))
		}
	}
	if d := s.ActiveDeadlineSeconds; d != nil && (*d < 1 || *d > math.MaxInt32) {
		errs = append(errs, field.Invalid(path.Child("activeDeadlineSeconds"), *d, "must be between 1 and 2147483647, inclusive"))
	}
	if s.Overhead != nil {
		errs = append(errs, validateOverhead(s.Overhead, path.Child("overhead"), opts)...)
	}
	return errs
}

// enum is kube's check of a defaulted enumeration: Required when empty,
// Unsupported value when not one of valid.
func enum(v string, valid []string, path *field.Path) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	for _, ok := range valid {
		if v == ok {
			return nil
		}
	}
	return field.ErrorList{field.NotSupported(path, v, valid)}
}

func validateVolumes(vols []corev1.Volume, path *field.Path) (sets.Set[string], field.ErrorList) {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, v := range vols {
		p := path.Index(i).Child("name")
		switch {
		case v.Name == "":
			errs = append(errs, field.Required(p, ""))
		case names.Has(v.Name):
			errs = append(errs, field.Duplicate(p, v.Name))
		default:
			for _, msg := range validation.IsDNS1123Label(v.Name) {
				errs = append(errs, field.Invalid(p, v.Name, msg))
			}
		}
		names.Insert(v.Name)
	}
	return names, errs
}

// validateContainers checks one list of containers; names collects the
// names seen so far, since init and regular containers share one space.
// claims are the names of the pod's resource claims.
func validateContainers(list []corev1.Container, names, volumes, claims sets.Set[string], opts podValidationOptions, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i := range list {
		c, p := &list[i], path.Index(i)
		switch {
		case c.Name == "":
			errs = append(errs, field.Required(p.Child("name"), ""))
		case names.Has(c.Name):
			errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
		default:
			for _, msg := range validation.IsDNS1123Label(c.Name) {
				errs = append(errs, field.Invalid(p.Child("name"), c.Name, msg))
			}
		}
		names.Insert(c.Name)
		if c.Image == "" {
			errs = append(errs, field.Required(p.Child("image"), ""))
		} else if strings.TrimSpace(c.Image) != c.Image {
			errs = append(errs, field.Invalid(p.Child("image"), c.Image, "must not have leading or trailing whitespace"))
		}
		errs = append(errs, enum(string(c.ImagePullPolicy), pullPolicies, p.Child("imagePullPolicy"))...)
		errs = append(errs, enum(string(c.TerminationMessagePolicy), messagePolicies, p.Child("terminationMessagePolicy"))...)
		errs = append(errs, validatePorts(c.Ports, p.Child("ports"))...)
		errs = append(errs, validateContainerSecurityContext(c.SecurityContext, p.Child("securityContext"), opts)...)
		for j, e := range c.Env {
			ep := p.Child("env").Index(j).Child("name")
			if e.Name == "" {
				errs = append(errs, field.Required(ep, ""))
			}
		}
		for j, m := range c.VolumeMounts {
			mp := p.Child("volumeMounts").Index(j)
			if m.Name == "" {
				errs = append(errs, field.Required(mp.Child("name"), ""))
			} else if !volumes.Has(m.Name) {
				errs = append(errs, field.NotFound(mp.Child("name"), m.Name))
			}
			if m.MountPath == "" {
				errs = append(errs, field.Required(mp.Child("mountPath"), ""))
			}
		}
		errs = append(errs, validateContainerResourceRequirements(&c.Resources, claims, p.Child("resources"), opts)...)
	}
	return errs
}

// validatePorts: container ports 1-65535 (required), host ports in range
// when given, unique names that are IANA service names, known protocols.
func validatePorts(ports []corev1.ContainerPort, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, port := range ports {
		p := path.Index(i)
		if port.Name != "" {
			if names.Has(port.Name) {
				errs = append(errs, field.Duplicate(p.Child("name"), port.Name))
			} else {
				for _, msg := range validation.IsValidPortName(port.Name) {
					errs = append(errs, field.Invalid(p.Child("name"), port.Name, msg))
				}
			}
			names.Insert(port.Name)
		}
		if port.ContainerPort == 0 {
			errs = append(errs, field.Required(p.Child("containerPort"), ""))
		} else {
			for _, msg := range validation.IsValidPortNum(int(port.ContainerPort)) {
				errs = append(errs, field.Invalid(p.Child("containerPort"), port.ContainerPort, msg))
			}
		}
		if port.HostPort != 0 {
			for _, msg := range validation.IsValidPortNum(int(port.HostPort)) {
				errs = append(errs, field.Invalid(p.Child("hostPort"), port.HostPort, msg))
			}
		}
		errs = append(errs, enum(string(port.Protocol), portProtocols, p.Child("protocol"))...)
	}
	return errs
}

// ValidateWorkloadTemplate is kube's ValidatePodTemplateSpecForRC (and,
// but for their order, the apps workloads' template checks): the
// template's labels must match the selector, and WorkloadRestartAlways;
// kind names the workload in kube's message.
func ValidateWorkloadTemplate(t *corev1.PodTemplateSpec, sel labels.Selector, path *field.Path, kind string) field.ErrorList {
	var errs field.ErrorList
	if sel != nil {
		errs = append(errs, TemplateMatchesSelector(t.Labels, sel, path)...)
	}
	errs = append(errs, ValidatePodTemplateSpec(t, path)...)
	return append(errs, WorkloadRestartAlways(t, path, kind)...)
}

// TemplateMatchesSelector: the pods a workload makes from its template
// (at path) must be its own, so the template's labels match the
// workload's selector. (A selector that selects nothing, a missing one,
// is reported here too, as kube's.)
func TemplateMatchesSelector(templateLabels map[string]string, sel labels.Selector, path *field.Path) field.ErrorList {
	if sel.Matches(labels.Set(templateLabels)) {
		return nil
	}
	return field.ErrorList{field.Invalid(path.Child("metadata", "labels"), templateLabels, "`selector` does not match template `labels`")}
}

// WorkloadRestartAlways: a workload's pods (the template at path) run
// until replaced, so they restart Always and have no active deadline.
// kind names the workload in kube's message ("ReplicaSet" for
// deployments too).
func WorkloadRestartAlways(t *corev1.PodTemplateSpec, path *field.Path, kind string) field.ErrorList {
	var errs field.ErrorList
	if rp := t.Spec.RestartPolicy; rp != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(path.Child("spec", "restartPolicy"), rp, []string{string(corev1.RestartPolicyAlways)}))
	}
	if t.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(path.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in "+kind+" is not Supported"))
	}
	return errs
}
