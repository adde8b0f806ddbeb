package core

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// wantMilli: a defaulted quantity is m milli units, in the canonical
// form kube stores.
func wantMilli(t *testing.T, what string, q resource.Quantity, m int64) {
	t.Helper()
	if q.MilliValue() != m || q.String() != resource.NewMilliQuantity(m, resource.DecimalSI).String() {
		t.Errorf("%s: %s, want %dm", what, q.String(), m)
	}
}

// TestPodSpecDefaults1372: the defaults of SetObjectDefaults_Pod in kube
// 1.37.2 beyond SetDefaults_PodSpec: sub-milli quantities rounded up,
// downward API and projected field references' apiVersion, gRPC probes'
// service, fileKeyRef's optional, an ephemeral claim template's volume
// mode, an image volume's pull policy, the legacy sources'.
func TestPodSpecDefaults1372(t *testing.T) {
	tiny := resource.MustParse("100u")
	p := pod(func(p *corev1.Pod) {
		c := &p.Spec.Containers[0]
		c.Resources = corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: tiny}}
		c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9000}}}
		c.Env = []corev1.EnvVar{{Name: "F", ValueFrom: &corev1.EnvVarSource{FileKeyRef: &corev1.FileKeySelector{VolumeName: "v", Path: "p", Key: "k"}}}}
		p.Spec.Overhead = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("0.0001")}
		p.Spec.Resources = &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: tiny}}
		ref := &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}
		p.Spec.Volumes = []corev1.Volume{
			{Name: "d", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
				Items: []corev1.DownwardAPIVolumeFile{{Path: "n", FieldRef: ref.DeepCopy()}}}}},
			{Name: "p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "n", FieldRef: ref.DeepCopy()}}}}}}}},
			{Name: "e", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{
				Spec: corev1.PersistentVolumeClaimSpec{Resources: corev1.VolumeResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("0.0001")}}}}}}},
			{Name: "i", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "example.com/artifact"}}},
			{Name: "j", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "example.com/artifact:v1"}}},
			{Name: "r", VolumeSource: corev1.VolumeSource{RBD: &corev1.RBDVolumeSource{CephMonitors: []string{"m"}, RBDImage: "x"}}},
			{Name: "s", VolumeSource: corev1.VolumeSource{ISCSI: &corev1.ISCSIVolumeSource{TargetPortal: "t", IQN: "q"}}},
			{Name: "a", VolumeSource: corev1.VolumeSource{AzureDisk: &corev1.AzureDiskVolumeSource{DiskName: "d", DataDiskURI: "u"}}},
			{Name: "o", VolumeSource: corev1.VolumeSource{ScaleIO: &corev1.ScaleIOVolumeSource{Gateway: "g", System: "s"}}},
		}
	})
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", AllocatedResources: corev1.ResourceList{corev1.ResourceCPU: tiny}}}
	podHooks.PrepareUpdate(p, p.DeepCopy())
	c := p.Spec.Containers[0]
	wantMilli(t, "limits", c.Resources.Limits[corev1.ResourceCPU], 1)
	wantMilli(t, "requests from limits", c.Resources.Requests[corev1.ResourceCPU], 1)
	wantMilli(t, "overhead", p.Spec.Overhead[corev1.ResourceMemory], 1)
	wantMilli(t, "pod requests", p.Spec.Resources.Requests[corev1.ResourceCPU], 1)
	wantMilli(t, "allocated", p.Status.ContainerStatuses[0].AllocatedResources[corev1.ResourceCPU], 1)
	if s := c.LivenessProbe.GRPC.Service; s == nil || *s != "" {
		t.Errorf("grpc service: %v", s)
	}
	if o := c.Env[0].ValueFrom.FileKeyRef.Optional; o == nil || *o {
		t.Errorf("fileKeyRef optional: %v", o)
	}
	v := p.Spec.Volumes
	if a := v[0].DownwardAPI.Items[0].FieldRef.APIVersion; a != "v1" {
		t.Errorf("downwardAPI apiVersion %q", a)
	}
	if a := v[1].Projected.Sources[0].DownwardAPI.Items[0].FieldRef.APIVersion; a != "v1" {
		t.Errorf("projected apiVersion %q", a)
	}
	es := v[2].Ephemeral.VolumeClaimTemplate.Spec
	if es.VolumeMode == nil || *es.VolumeMode != corev1.PersistentVolumeFilesystem {
		t.Errorf("ephemeral volumeMode %v", es.VolumeMode)
	}
	wantMilli(t, "ephemeral request", es.Resources.Requests[corev1.ResourceStorage], 1)
	if a, b := v[3].Image.PullPolicy, v[4].Image.PullPolicy; a != corev1.PullAlways || b != corev1.PullIfNotPresent {
		t.Errorf("image pull policies %q %q", a, b)
	}
	if r := v[5].RBD; r.RBDPool != "rbd" || r.RadosUser != "admin" || r.Keyring != "/etc/ceph/keyring" {
		t.Errorf("rbd %+v", r)
	}
	if i := v[6].ISCSI; i.ISCSIInterface != "default" {
		t.Errorf("iscsi %+v", i)
	}
	if a := v[7].AzureDisk; a.CachingMode == nil || *a.CachingMode != corev1.AzureDataDiskCachingReadWrite || *a.FSType != "ext4" ||
		*a.ReadOnly || *a.Kind != corev1.AzureSharedBlobDisk {
		t.Errorf("azureDisk %+v", a)
	}
	if s := v[8].ScaleIO; s.StorageMode != "ThinProvisioned" || s.FSType != "xfs" {
		t.Errorf("scaleIO %+v", s)
	}
}

// TestVolumeDefaults1372: a persistent volume's source and capacity, and
// the phase of a volume, claim or namespace whose status write leaves it
// out (kube defaults what it decodes, on every write).
func TestVolumeDefaults1372(t *testing.T) {
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv"}, Spec: corev1.PersistentVolumeSpec{
		AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("0.0001")},
		PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data"}}}}
	if errs := create(persistentVolumeHooks, pv); len(errs) > 0 {
		t.Fatal(errs)
	}
	if h := pv.Spec.HostPath.Type; h == nil || *h != corev1.HostPathUnset {
		t.Errorf("hostPath type %v", h)
	}
	wantMilli(t, "pv capacity", pv.Spec.Capacity[corev1.ResourceStorage], 1)
	src := corev1.PersistentVolumeSource{RBD: &corev1.RBDPersistentVolumeSource{}, ISCSI: &corev1.ISCSIPersistentVolumeSource{},
		ScaleIO: &corev1.ScaleIOPersistentVolumeSource{}, AzureDisk: &corev1.AzureDiskVolumeSource{}}
	DefaultPersistentVolumeSource(&src)
	if src.RBD.RBDPool != "rbd" || src.ISCSI.ISCSIInterface != "default" || src.ScaleIO.FSType != "xfs" || *src.AzureDisk.FSType != "ext4" {
		t.Errorf("pv legacy sources %+v %+v %+v", src.RBD, src.ISCSI, src.ScaleIO)
	}

	status := pv.DeepCopy()
	status.Status.Phase = ""
	persistentVolumeHooks.PrepareUpdate(status, pv)
	if status.Status.Phase != corev1.VolumePending {
		t.Errorf("pv phase on update %q", status.Status.Phase)
	}
	pvc := &corev1.PersistentVolumeClaim{Status: corev1.PersistentVolumeClaimStatus{
		Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("0.0001")}}}
	persistentVolumeClaimHooks.PrepareUpdate(pvc, pvc.DeepCopy())
	if pvc.Status.Phase != corev1.ClaimPending {
		t.Errorf("pvc phase on update %q", pvc.Status.Phase)
	}
	wantMilli(t, "pvc capacity", pvc.Status.Capacity[corev1.ResourceStorage], 1)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}}
	namespaceHooks.PrepareUpdate(ns, ns.DeepCopy())
	if ns.Status.Phase != corev1.NamespaceActive {
		t.Errorf("namespace phase on update %q", ns.Status.Phase)
	}
}

// TestResourceListRounding: the other ResourceLists kube's defaulters
// round: a node's capacity and allocatable, a limit range's bounds, a
// quota's hard and used.
func TestResourceListRounding(t *testing.T) {
	tiny := func() corev1.ResourceList { return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100u")} }
	node := &corev1.Node{Status: corev1.NodeStatus{Capacity: tiny()}}
	nodeHooks.PrepareCreate(node)
	wantMilli(t, "node capacity", node.Status.Capacity[corev1.ResourceCPU], 1)
	wantMilli(t, "node allocatable", node.Status.Allocatable[corev1.ResourceCPU], 1)
	lr := &corev1.LimitRange{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypePod, Max: tiny(), Min: tiny()}}}}
	limitRangeHooks.PrepareCreate(lr)
	wantMilli(t, "limit range max", lr.Spec.Limits[0].Max[corev1.ResourceCPU], 1)
	wantMilli(t, "limit range min", lr.Spec.Limits[0].Min[corev1.ResourceCPU], 1)
	q := &corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Hard: tiny()}, Status: corev1.ResourceQuotaStatus{Used: tiny()}}
	resourceQuotaHooks.PrepareUpdate(q, q.DeepCopy())
	wantMilli(t, "quota hard", q.Spec.Hard[corev1.ResourceCPU], 1)
	wantMilli(t, "quota used", q.Status.Used[corev1.ResourceCPU], 1)
	// Whole and milli quantities keep their form.
	l := corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi"), corev1.ResourceCPU: resource.MustParse("250m")}
	RoundResourceLists(l)
	if m, c := l[corev1.ResourceMemory], l[corev1.ResourceCPU]; m.String() != "1Gi" || c.String() != "250m" {
		t.Errorf("rounded whole quantities: %s %s", m.String(), c.String())
	}
}

// TestPodStoredWithoutNewDefaults: a pod an older kapi stored without the
// defaults above can still be written (a kubelet's status write, a
// label), as kube defaults the stored pod it reads.
func TestPodStoredWithoutNewDefaults(t *testing.T) {
	old := pod(func(p *corev1.Pod) {
		p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9000}}}
		p.Spec.Volumes = []corev1.Volume{{Name: "d", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
			Items: []corev1.DownwardAPIVolumeFile{{Path: "n", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}}}}
	})
	podHooks.PrepareCreate(old)
	old.Spec.Containers[0].ReadinessProbe.GRPC.Service = nil
	old.Spec.Volumes[0].DownwardAPI.Items[0].FieldRef.APIVersion = ""
	labelled := old.DeepCopy()
	labelled.Labels = map[string]string{"a": "b"}
	if errs := update(podHooks, labelled, old); len(errs) > 0 {
		t.Errorf("updating a pod stored without the new defaults: %v", errs)
	}
	if old.Spec.Containers[0].ReadinessProbe.GRPC.Service != nil {
		t.Error("the stored pod was changed")
	}
}
