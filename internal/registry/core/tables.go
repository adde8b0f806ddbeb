package core

import (
	"bytes"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"
)

// The tables of core/v1 types, column for column as kube-apiserver prints
// them (pkg/printers/internalversion). Pods and events have files of their
// own.

var age = registry.AgeColumn

var namespaceTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Status", Type: "string", Description: "The status of the namespace"},
		age,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		ns := obj.(*corev1.Namespace)
		return []interface{}{string(ns.Status.Phase), registry.Age(ns, now)}
	},
}

var configMapTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Data", Type: "string", Description: corev1.ConfigMap{}.SwaggerDoc()["data"]},
		age,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		cm := obj.(*corev1.ConfigMap)
		return []interface{}{int64(len(cm.Data) + len(cm.BinaryData)), registry.Age(cm, now)}
	},
}

var secretTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Type", Type: "string", Description: corev1.Secret{}.SwaggerDoc()["type"]},
		{Name: "Data", Type: "string", Description: corev1.Secret{}.SwaggerDoc()["data"]},
		age,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		s := obj.(*corev1.Secret)
		return []interface{}{string(s.Type), int64(len(s.Data)), registry.Age(s, now)}
	},
}

var serviceAccountTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Secrets", Type: "string", Description: corev1.ServiceAccount{}.SwaggerDoc()["secrets"]},
		age,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		sa := obj.(*corev1.ServiceAccount)
		return []interface{}{int64(len(sa.Secrets)), registry.Age(sa, now)}
	},
}

var serviceDocs = corev1.ServiceSpec{}.SwaggerDoc()

// serviceTable: NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE, and the
// selector in the wide view.
var serviceTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Type", Type: "string", Description: serviceDocs["type"]},
		{Name: "Cluster-IP", Type: "string", Description: serviceDocs["clusterIP"]},
		{Name: "External-IP", Type: "string", Description: serviceDocs["externalIPs"]},
		{Name: "Port(s)", Type: "string", Description: serviceDocs["ports"]},
		age,
		{Name: "Selector", Type: "string", Priority: 1, Description: serviceDocs["selector"]},
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		svc := obj.(*corev1.Service)
		clusterIP := "<none>"
		if len(svc.Spec.ClusterIPs) > 0 {
			clusterIP = svc.Spec.ClusterIPs[0]
		}
		// The server prints the wide view, whose external IPs are not cut.
		return []interface{}{string(svc.Spec.Type), clusterIP, serviceExternalIP(svc, true),
			registry.OrNone(servicePorts(svc.Spec.Ports)), registry.Age(svc, now),
			labels.FormatLabels(svc.Spec.Selector)}
	},
}

// loadBalancerWidth is where the narrow view cuts a load balancer's
// addresses.
const loadBalancerWidth = 16

// LoadBalancerCell lists a load balancer's IPs or host names, sorted and
// without repeats, cut to 16 characters unless wide.
func LoadBalancerCell(ingress []corev1.LoadBalancerIngress, wide bool) string {
	seen := map[string]bool{}
	var list []string
	for _, in := range ingress {
		v := in.IP
		if v == "" {
			v = in.Hostname
		}
		if v != "" && !seen[v] {
			seen[v] = true
			list = append(list, v)
		}
	}
	sort.Strings(list)
	r := strings.Join(list, ",")
	if !wide && len(r) > loadBalancerWidth {
		r = r[:loadBalancerWidth-3] + "..."
	}
	return r
}

func serviceExternalIP(svc *corev1.Service, wide bool) string {
	switch svc.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
		if len(svc.Spec.ExternalIPs) > 0 {
			return strings.Join(svc.Spec.ExternalIPs, ",")
		}
		return "<none>"
	case corev1.ServiceTypeLoadBalancer:
		lb := LoadBalancerCell(svc.Status.LoadBalancer.Ingress, wide)
		if len(svc.Spec.ExternalIPs) > 0 {
			var all []string
			if lb != "" {
				all = strings.Split(lb, ",")
			}
			return strings.Join(append(all, svc.Spec.ExternalIPs...), ",")
		}
		if lb != "" {
			return lb
		}
		return "<pending>"
	case corev1.ServiceTypeExternalName:
		return svc.Spec.ExternalName
	}
	return "<unknown>"
}

// servicePorts prints "80/TCP,30080:443/TCP": the node port joins the
// port when there is one.
func servicePorts(ports []corev1.ServicePort) string {
	pieces := make([]string, len(ports))
	for i, p := range ports {
		pieces[i] = fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		if p.NodePort > 0 {
			pieces[i] = fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol)
		}
	}
	return strings.Join(pieces, ",")
}

var endpointsTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Endpoints", Type: "string", Description: corev1.Endpoints{}.SwaggerDoc()["subsets"]},
		age,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		ep := obj.(*corev1.Endpoints)
		return []interface{}{endpointsCell(ep), registry.Age(ep, now)}
	},
}

// endpointsCell lists the first three ip:port pairs and counts the rest:
// "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more...".
func endpointsCell(ep *corev1.Endpoints) string {
	if len(ep.Subsets) == 0 {
		return "<none>"
	}
	const max = 3
	var list []string
	count := 0
	add := func(s string) {
		count++
		if len(list) < max {
			list = append(list, s)
		}
	}
	for _, ss := range ep.Subsets {
		if len(ss.Ports) == 0 {
			// Headless services may have no ports.
			for _, a := range ss.Addresses {
				add(a.IP)
			}
			continue
		}
		for _, p := range ss.Ports {
			for _, a := range ss.Addresses {
				add(net.JoinHostPort(a.IP, strconv.Itoa(int(p.Port))))
			}
		}
	}
	r := strings.Join(list, ",")
	if count > max {
		return fmt.Sprintf("%s + %d more...", r, count-max)
	}
	return r
}

var nodeDocs, nodeInfoDocs = corev1.NodeStatus{}.SwaggerDoc(), corev1.NodeSystemInfo{}.SwaggerDoc()

// nodeTable: NAME STATUS ROLES AGE VERSION, and addresses, OS, kernel and
// container runtime in the wide view.
var nodeTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Status", Type: "string", Description: "The status of the node"},
		{Name: "Roles", Type: "string", Description: "The roles of the node"},
		age,
		{Name: "Version", Type: "string", Description: nodeInfoDocs["kubeletVersion"]},
		{Name: "Internal-IP", Type: "string", Priority: 1, Description: nodeDocs["addresses"]},
		{Name: "External-IP", Type: "string", Priority: 1, Description: nodeDocs["addresses"]},
		{Name: "OS-Image", Type: "string", Priority: 1, Description: nodeInfoDocs["osImage"]},
		{Name: "Kernel-Version", Type: "string", Priority: 1, Description: nodeInfoDocs["kernelVersion"]},
		{Name: "Container-Runtime", Type: "string", Priority: 1, Description: nodeInfoDocs["containerRuntimeVersion"]},
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		n := obj.(*corev1.Node)
		info := n.Status.NodeInfo
		return []interface{}{nodeStatus(n), registry.OrNone(strings.Join(nodeRoles(n), ",")),
			registry.Age(n, now), info.KubeletVersion,
			nodeAddress(n, corev1.NodeInternalIP), nodeAddress(n, corev1.NodeExternalIP),
			orUnknown(info.OSImage), orUnknown(info.KernelVersion), orUnknown(info.ContainerRuntimeVersion)}
	},
}

// nodeStatus is Ready, NotReady or Unknown (no Ready condition), with
// SchedulingDisabled added for a cordoned node.
func nodeStatus(n *corev1.Node) string {
	status := "Unknown"
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			status = string(c.Type)
			if c.Status != corev1.ConditionTrue {
				status = "Not" + status
			}
		}
	}
	if n.Spec.Unschedulable {
		status += ",SchedulingDisabled"
	}
	return status
}

// nodeRoles reads node-role.kubernetes.io/<role> labels and the older
// kubernetes.io/role=<role> label, sorted.
func nodeRoles(n *corev1.Node) []string {
	seen := map[string]bool{}
	var roles []string
	for k, v := range n.Labels {
		role := ""
		switch {
		case strings.HasPrefix(k, "node-role.kubernetes.io/"):
			role = strings.TrimPrefix(k, "node-role.kubernetes.io/")
		case k == "kubernetes.io/role":
			role = v
		}
		if role != "" && !seen[role] {
			seen[role] = true
			roles = append(roles, role)
		}
	}
	sort.Strings(roles)
	return roles
}

func nodeAddress(n *corev1.Node, t corev1.NodeAddressType) string {
	for _, a := range n.Status.Addresses {
		if a.Type == t {
			return a.Address
		}
	}
	return "<none>"
}

func orUnknown(s string) string {
	if s == "" {
		return "<unknown>"
	}
	return s
}

var pvDocs, pvStatusDocs = corev1.PersistentVolumeSpec{}.SwaggerDoc(), corev1.PersistentVolumeStatus{}.SwaggerDoc()

var persistentVolumeTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Capacity", Type: "string", Description: pvDocs["capacity"]},
		{Name: "Access Modes", Type: "string", Description: pvDocs["accessModes"]},
		{Name: "Reclaim Policy", Type: "string", Description: pvDocs["persistentVolumeReclaimPolicy"]},
		{Name: "Status", Type: "string", Description: pvStatusDocs["phase"]},
		{Name: "Claim", Type: "string", Description: pvDocs["claimRef"]},
		{Name: "StorageClass", Type: "string", Description: "StorageClass of the pv"},
		{Name: "VolumeAttributesClass", Type: "string", Description: "VolumeAttributesClass of the pv"},
		{Name: "Reason", Type: "string", Description: pvStatusDocs["reason"]},
		age,
		{Name: "VolumeMode", Type: "string", Priority: 1, Description: pvDocs["volumeMode"]},
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		pv := obj.(*corev1.PersistentVolume)
		claim := ""
		if ref := pv.Spec.ClaimRef; ref != nil {
			claim = ref.Namespace + "/" + ref.Name
		}
		phase := string(pv.Status.Phase)
		if pv.DeletionTimestamp != nil {
			phase = "Terminating"
		}
		size := pv.Spec.Capacity[corev1.ResourceStorage]
		class := pv.Spec.StorageClassName
		if a, ok := pv.Annotations[corev1.BetaStorageClassAnnotation]; ok {
			class = a
		}
		return []interface{}{size.String(), accessModes(pv.Spec.AccessModes),
			string(pv.Spec.PersistentVolumeReclaimPolicy), phase, claim, class,
			unsetOr(pv.Spec.VolumeAttributesClassName), pv.Status.Reason, registry.Age(pv, now),
			volumeMode(pv.Spec.VolumeMode)}
	},
}

var pvcDocs, pvcStatusDocs = corev1.PersistentVolumeClaimSpec{}.SwaggerDoc(), corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()

var persistentVolumeClaimTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Status", Type: "string", Description: pvcStatusDocs["phase"]},
		{Name: "Volume", Type: "string", Description: pvcDocs["volumeName"]},
		{Name: "Capacity", Type: "string", Description: pvcStatusDocs["capacity"]},
		{Name: "Access Modes", Type: "string", Description: pvcStatusDocs["accessModes"]},
		{Name: "StorageClass", Type: "string", Description: "StorageClass of the pvc"},
		{Name: "VolumeAttributesClass", Type: "string", Description: "VolumeAttributesClass of the pvc"},
		age,
		{Name: "VolumeMode", Type: "string", Priority: 1, Description: pvcDocs["volumeMode"]},
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		pvc := obj.(*corev1.PersistentVolumeClaim)
		phase := string(pvc.Status.Phase)
		if pvc.DeletionTimestamp != nil {
			phase = "Terminating"
		}
		// Capacity and access modes are the bound volume's.
		capacity, modes := "", ""
		if pvc.Spec.VolumeName != "" {
			modes = accessModes(pvc.Status.AccessModes)
			q := pvc.Status.Capacity[corev1.ResourceStorage]
			capacity = q.String()
		}
		class := ""
		if a, ok := pvc.Annotations[corev1.BetaStorageClassAnnotation]; ok {
			class = a
		} else if pvc.Spec.StorageClassName != nil {
			class = *pvc.Spec.StorageClassName
		}
		return []interface{}{phase, pvc.Spec.VolumeName, capacity, modes, class,
			unsetOr(pvc.Spec.VolumeAttributesClassName), registry.Age(pvc, now), volumeMode(pvc.Spec.VolumeMode)}
	},
}

// accessModes abbreviates access modes in a fixed order: RWO,ROX,RWX,RWOP.
func accessModes(modes []corev1.PersistentVolumeAccessMode) string {
	var out []string
	for _, m := range []struct {
		mode corev1.PersistentVolumeAccessMode
		abbr string
	}{{corev1.ReadWriteOnce, "RWO"}, {corev1.ReadOnlyMany, "ROX"}, {corev1.ReadWriteMany, "RWX"}, {corev1.ReadWriteOncePod, "RWOP"}} {
		for _, have := range modes {
			if have == m.mode {
				out = append(out, m.abbr)
				break
			}
		}
	}
	return strings.Join(out, ",")
}

func unsetOr(s *string) string {
	if s == nil {
		return "<unset>"
	}
	return *s
}

func volumeMode(m *corev1.PersistentVolumeMode) string {
	if m == nil {
		return "<unset>"
	}
	return string(*m)
}

// resourceQuotaTable prints used/hard per resource: limits.* in LIMIT,
// everything else in REQUEST.
var resourceQuotaTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Request", Type: "string", Description: "Request represents a minimum amount of cpu/memory that a container may consume."},
		{Name: "Limit", Type: "string", Description: "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."},
		age,
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		q := obj.(*corev1.ResourceQuota)
		names := make([]string, 0, len(q.Status.Hard))
		for n := range q.Status.Hard {
			names = append(names, string(n))
		}
		sort.Strings(names)
		var request, limit bytes.Buffer
		for _, n := range names {
			w := &request
			if strings.HasPrefix(n, "limits.") {
				w = &limit
			}
			used, hard := q.Status.Used[corev1.ResourceName(n)], q.Status.Hard[corev1.ResourceName(n)]
			fmt.Fprintf(w, "%s: %s/%s, ", n, used.String(), hard.String())
		}
		return []interface{}{strings.TrimSuffix(request.String(), ", "), strings.TrimSuffix(limit.String(), ", "),
			registry.Age(q, now)}
	},
}

var rcDocs, rcStatusDocs = corev1.ReplicationControllerSpec{}.SwaggerDoc(), corev1.ReplicationControllerStatus{}.SwaggerDoc()

var replicationControllerTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Desired", Type: "integer", Description: rcDocs["replicas"]},
		{Name: "Current", Type: "integer", Description: rcStatusDocs["replicas"]},
		{Name: "Ready", Type: "integer", Description: rcStatusDocs["readyReplicas"]},
		age,
		{Name: "Containers", Type: "string", Priority: 1, Description: "Names of each container in the template."},
		{Name: "Images", Type: "string", Priority: 1, Description: "Images referenced by each container in the template."},
		{Name: "Selector", Type: "string", Priority: 1, Description: rcDocs["selector"]},
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		rc := obj.(*corev1.ReplicationController)
		desired := int32(1) // the default when unset
		if rc.Spec.Replicas != nil {
			desired = *rc.Spec.Replicas
		}
		var containers []corev1.Container
		if rc.Spec.Template != nil {
			containers = rc.Spec.Template.Spec.Containers
		}
		names, images := registry.ContainerCells(containers)
		return []interface{}{int64(desired), int64(rc.Status.Replicas), int64(rc.Status.ReadyReplicas),
			registry.Age(rc, now), names, images, labels.FormatLabels(rc.Spec.Selector)}
	},
}

// podTemplateTable has no AGE column in kube-apiserver either.
var podTemplateTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "Containers", Type: "string", Description: "Names of each container in the template."},
		{Name: "Images", Type: "string", Description: "Images referenced by each container in the template."},
		{Name: "Pod Labels", Type: "string", Description: "The labels for the pod template."},
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		pt := obj.(*corev1.PodTemplate)
		names, images := registry.ContainerCells(pt.Template.Spec.Containers)
		return []interface{}{names, images, labels.FormatLabels(pt.Template.Labels)}
	},
}
