package core

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"
	"k8s.io/utils/ptr"
)

// DefaultPodSpec sets the defaults kube-apiserver's defaulters give every
// pod spec, a pod's or a workload's template (SetDefaults_PodSpec,
// SetDefaults_Container and the generated ones below them): dnsPolicy
// ClusterFirst, restartPolicy Always, an empty securityContext, a 30s
// grace period, the default scheduler; per container the pull policy from
// the image tag, the termination message file, TCP ports, probe timings;
// per volume the file modes and an emptyDir when no source is given; and
// every ResourceList's quantities rounded up to milli units.
func DefaultPodSpec(s *corev1.PodSpec) {
	if s.DNSPolicy == "" {
		s.DNSPolicy = corev1.DNSClusterFirst
	}
	if s.RestartPolicy == "" {
		s.RestartPolicy = corev1.RestartPolicyAlways
	}
	if s.SecurityContext == nil {
		s.SecurityContext = &corev1.PodSecurityContext{}
	}
	if s.TerminationGracePeriodSeconds == nil {
		p := int64(corev1.DefaultTerminationGracePeriodSeconds)
		s.TerminationGracePeriodSeconds = &p
	}
	if s.SchedulerName == "" {
		s.SchedulerName = corev1.DefaultSchedulerName
	}
	for i := range s.InitContainers {
		defaultContainer(&s.InitContainers[i])
	}
	for i := range s.Containers {
		defaultContainer(&s.Containers[i])
	}
	for i := range s.EphemeralContainers {
		defaultContainer((*corev1.Container)(&s.EphemeralContainers[i].EphemeralContainerCommon))
	}
	for i := range s.Volumes {
		defaultVolume(&s.Volumes[i])
	}
	RoundResourceLists(s.Overhead)
	roundRequirements(s.Resources)
}

// podStatusAliases are kube's conversion of a v1 PodStatus and back:
// podIP is the first of podIPs, and wins when both are given and differ
// (older kubelets set podIP alone); hostIP and hostIPs the same.
func podStatusAliases(st *corev1.PodStatus) {
	if st.PodIP != "" && (len(st.PodIPs) == 0 || st.PodIPs[0].IP != st.PodIP) {
		st.PodIPs = []corev1.PodIP{{IP: st.PodIP}}
	}
	if len(st.PodIPs) > 0 {
		st.PodIP = st.PodIPs[0].IP
	}
	if st.HostIP != "" && (len(st.HostIPs) == 0 || st.HostIPs[0].IP != st.HostIP) {
		st.HostIPs = []corev1.HostIP{{IP: st.HostIP}}
	}
	if len(st.HostIPs) > 0 {
		st.HostIP = st.HostIPs[0].IP
	}
}

// nodeSpecAliases: a node's podCIDR is the first of its podCIDRs, and
// wins when both are given and differ, as kube's conversion of v1.
func nodeSpecAliases(s *corev1.NodeSpec) {
	if s.PodCIDR != "" && (len(s.PodCIDRs) == 0 || s.PodCIDRs[0] != s.PodCIDR) {
		s.PodCIDRs = []string{s.PodCIDR}
	}
	if len(s.PodCIDRs) > 0 {
		s.PodCIDR = s.PodCIDRs[0]
	}
}

// defaultPod adds what only a Pod (not a template) gets (SetDefaults_Pod):
// a negative grace period made 1, requests copied from limits,
// enableServiceLinks, and host ports equal to container ports on the host
// network.
func defaultPod(pod *corev1.Pod) {
	s := &pod.Spec
	if g := s.TerminationGracePeriodSeconds; g != nil && *g < 0 {
		s.TerminationGracePeriodSeconds = ptr.To[int64](1)
	}
	DefaultPodSpec(s)
	// Not a default but kube's conversion of v1 (Convert_v1_PodSpec_To_core_PodSpec
	// and back): serviceAccount is the old name of serviceAccountName,
	// taken when serviceAccountName is empty, and written out as it. A
	// pod made from a template gets it here; templates keep both fields
	// as given, so that a workload stored before kapi did this keeps its
	// template, and does not roll out, on its next write.
	if s.ServiceAccountName == "" {
		s.ServiceAccountName = s.DeprecatedServiceAccount
	}
	s.DeprecatedServiceAccount = s.ServiceAccountName
	for _, list := range [][]corev1.Container{s.InitContainers, s.Containers} {
		for i := range list {
			r := &list[i].Resources
			if r.Limits == nil {
				continue
			}
			if r.Requests == nil {
				r.Requests = corev1.ResourceList{}
			}
			for k, v := range r.Limits {
				if _, ok := r.Requests[k]; !ok {
					r.Requests[k] = v.DeepCopy()
				}
			}
		}
		if s.HostNetwork {
			for i := range list {
				for j := range list[i].Ports {
					if p := &list[i].Ports[j]; p.HostPort == 0 {
						p.HostPort = p.ContainerPort
					}
				}
			}
		}
	}
	if s.EnableServiceLinks == nil {
		t := corev1.DefaultEnableServiceLinks
		s.EnableServiceLinks = &t
	}
	roundPodStatus(&pod.Status)
}

// roundPodStatus: the resources a pod's status reports are rounded to
// milli units as its spec's (SetObjectDefaults_Pod's SetDefaults_ResourceList
// on the status).
func roundPodStatus(st *corev1.PodStatus) {
	RoundResourceLists(st.AllocatedResources)
	roundRequirements(st.Resources)
	for _, list := range [][]corev1.ContainerStatus{st.InitContainerStatuses, st.ContainerStatuses, st.EphemeralContainerStatuses} {
		for i := range list {
			RoundResourceLists(list[i].AllocatedResources)
			roundRequirements(list[i].Resources)
		}
	}
}

func defaultContainer(c *corev1.Container) {
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = corev1.PullIfNotPresent
		if imageTag(c.Image) == "latest" {
			c.ImagePullPolicy = corev1.PullAlways
		}
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = corev1.TerminationMessagePathDefault
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
	for i := range c.Ports {
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = corev1.ProtocolTCP
		}
	}
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		defaultProbe(p)
	}
	for i := range c.Env {
		if vf := c.Env[i].ValueFrom; vf != nil {
			defaultFieldRef(vf.FieldRef)
			// (declarative +default=false on FileKeySelector.Optional)
			if vf.FileKeyRef != nil && vf.FileKeyRef.Optional == nil {
				vf.FileKeyRef.Optional = ptr.To(false)
			}
		}
	}
	roundRequirements(&c.Resources)
	if l := c.Lifecycle; l != nil {
		defaultHandler(l.PostStart)
		defaultHandler(l.PreStop)
	}
}

func defaultProbe(p *corev1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	defaultHTTPGet(p.HTTPGet)
	// (declarative +default="" on GRPCAction.Service)
	if p.GRPC != nil && p.GRPC.Service == nil {
		p.GRPC.Service = ptr.To("")
	}
}

// defaultFieldRef is kube's SetDefaults_ObjectFieldSelector: apiVersion v1.
func defaultFieldRef(f *corev1.ObjectFieldSelector) {
	if f != nil && f.APIVersion == "" {
		f.APIVersion = "v1"
	}
}

func defaultHandler(h *corev1.LifecycleHandler) {
	if h != nil {
		defaultHTTPGet(h.HTTPGet)
	}
}

func defaultHTTPGet(h *corev1.HTTPGetAction) {
	if h == nil {
		return
	}
	if h.Path == "" {
		h.Path = "/"
	}
	if h.Scheme == "" {
		h.Scheme = corev1.URISchemeHTTP
	}
}

// defaultVolume is what kube's generated defaulters give a pod volume
// (SetDefaults_Volume and those of its source): an emptyDir when no
// source is given; the file modes; apiVersion v1 in downward API field
// references; a token's hour; hostPath type ""; the claim template's
// defaults of an ephemeral volume; an image volume's pull policy from its
// tag (ImageVolume, GA in 1.36); and the declarative defaults of the
// legacy in-tree sources.
func defaultVolume(v *corev1.Volume) {
	s := &v.VolumeSource
	if *s == (corev1.VolumeSource{}) {
		s.EmptyDir = &corev1.EmptyDirVolumeSource{}
	}
	mode := func(p **int32, m int32) {
		if *p == nil {
			*p = &m
		}
	}
	if s.Secret != nil {
		mode(&s.Secret.DefaultMode, corev1.SecretVolumeSourceDefaultMode)
	}
	if s.ConfigMap != nil {
		mode(&s.ConfigMap.DefaultMode, corev1.ConfigMapVolumeSourceDefaultMode)
	}
	if s.DownwardAPI != nil {
		mode(&s.DownwardAPI.DefaultMode, corev1.DownwardAPIVolumeSourceDefaultMode)
		for i := range s.DownwardAPI.Items {
			defaultFieldRef(s.DownwardAPI.Items[i].FieldRef)
		}
	}
	if s.Projected != nil {
		mode(&s.Projected.DefaultMode, corev1.ProjectedVolumeSourceDefaultMode)
		for _, src := range s.Projected.Sources {
			if t := src.ServiceAccountToken; t != nil && t.ExpirationSeconds == nil {
				hour := int64(3600)
				t.ExpirationSeconds = &hour
			}
			if d := src.DownwardAPI; d != nil {
				for i := range d.Items {
					defaultFieldRef(d.Items[i].FieldRef)
				}
			}
		}
	}
	if s.HostPath != nil {
		defaultHostPath(s.HostPath)
	}
	if e := s.Ephemeral; e != nil && e.VolumeClaimTemplate != nil {
		defaultClaimSpec(&e.VolumeClaimTemplate.Spec)
	}
	if img := s.Image; img != nil && img.PullPolicy == "" {
		img.PullPolicy = corev1.PullIfNotPresent
		if imageTag(img.Reference) == "latest" {
			img.PullPolicy = corev1.PullAlways
		}
	}
	if r := s.RBD; r != nil {
		rbdDefaults(&r.RBDPool, &r.RadosUser, &r.Keyring)
	}
	if i := s.ISCSI; i != nil {
		setEmpty(&i.ISCSIInterface, "default")
	}
	if d := s.AzureDisk; d != nil {
		defaultAzureDisk(d)
	}
	if c := s.ScaleIO; c != nil {
		scaleIODefaults(&c.StorageMode, &c.FSType)
	}
}

// defaultHostPath is kube's SetDefaults_HostPathVolumeSource: type "".
func defaultHostPath(h *corev1.HostPathVolumeSource) {
	if h.Type == nil {
		h.Type = ptr.To(corev1.HostPathUnset)
	}
}

// The legacy in-tree sources' declarative defaults (+default in core/v1's
// types), of pod volumes and persistent volumes alike: RBD pool "rbd",
// user "admin", keyring /etc/ceph/keyring; iSCSI interface "default";
// ScaleIO ThinProvisioned and xfs; AzureDisk's below.
func rbdDefaults(pool, user, keyring *string) {
	setEmpty(pool, "rbd")
	setEmpty(user, "admin")
	setEmpty(keyring, "/etc/ceph/keyring")
}

func scaleIODefaults(mode, fsType *string) {
	setEmpty(mode, "ThinProvisioned")
	setEmpty(fsType, "xfs")
}

// setEmpty sets an empty string field to its default.
func setEmpty(p *string, def string) {
	if *p == "" {
		*p = def
	}
}

// defaultAzureDisk: caching ReadWrite, ext4, not read-only, a shared blob
// disk (declarative defaults of AzureDiskVolumeSource).
func defaultAzureDisk(d *corev1.AzureDiskVolumeSource) {
	if d.CachingMode == nil {
		d.CachingMode = ptr.To(corev1.AzureDataDiskCachingReadWrite)
	}
	if d.FSType == nil {
		d.FSType = ptr.To("ext4")
	}
	if d.ReadOnly == nil {
		d.ReadOnly = ptr.To(false)
	}
	if d.Kind == nil {
		d.Kind = ptr.To(corev1.AzureSharedBlobDisk)
	}
}

// imageTag is the tag of an image reference as the container runtime reads
// it: "latest" when neither a tag nor a digest is given, "" for a digest
// alone ("nginx@sha256:..."). A colon names a tag only after the last
// slash, since "registry:5000/nginx" is a registry port.
func imageTag(image string) string {
	name, _, hasDigest := strings.Cut(image, "@")
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		return name[i+1:]
	}
	if hasDigest {
		return ""
	}
	return "latest"
}

// qosClass is the pod's quality of service as kube-apiserver 1.37 gives
// it a new pod (qos.ComputePodQOS, PodLevelResources and
// PodLevelResourcesFixKubeletQOSClass on): of its pod-level resources
// when they name one a pod may set, else of its containers' cpu and
// memory: BestEffort when none requests or limits either, Guaranteed
// when every one's requests equal its limits, Burstable otherwise.
func qosClass(s *corev1.PodSpec) corev1.PodQOSClass {
	if s.Resources != nil && resourcehelper.IsPodLevelResourcesSet(&corev1.Pod{Spec: *s}) {
		return requirementsQOS(s.Resources)
	}
	var qos corev1.PodQOSClass
	for _, list := range [][]corev1.Container{s.InitContainers, s.Containers} {
		for i := range list {
			switch c := requirementsQOS(&list[i].Resources); {
			case c == corev1.PodQOSBurstable:
				return c
			case qos == "":
				qos = c
			case qos != c:
				return corev1.PodQOSBurstable
			}
		}
	}
	if qos == "" {
		return corev1.PodQOSBestEffort
	}
	return qos
}

// requirementsQOS is the class of one set of requirements: BestEffort
// without any, else by cpu and memory: Guaranteed when both request what
// they limit, BestEffort when neither is stated, Burstable otherwise.
func requirementsQOS(r *corev1.ResourceRequirements) corev1.PodQOSClass {
	if len(r.Requests) == 0 && len(r.Limits) == 0 {
		return corev1.PodQOSBestEffort
	}
	var qos corev1.PodQOSClass
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := r.Requests[name], r.Limits[name]
		c := corev1.PodQOSGuaranteed
		switch {
		case !req.Equal(lim):
			return corev1.PodQOSBurstable
		case req.IsZero():
			c = corev1.PodQOSBestEffort
		}
		if qos == "" {
			qos = c
		} else if qos != c {
			return corev1.PodQOSBurstable
		}
	}
	return qos
}
