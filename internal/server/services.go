package server

import (
	"context"
	"fmt"
	"net"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"

	"kapi/internal/registry"
	"kapi/internal/registry/core"
	"kapi/internal/registry/core/allocation"
	"kapi/internal/storage/etcd"
)

// serviceAllocators builds what gives Services their cluster IPs and node
// ports, on etcd: cluster IPs as IPAddress objects in the ipaddresses
// store, from the ServiceCIDRs in the servicecidrs store (the first of
// them, "kubernetes", made from --service-cluster-ip-range), node ports
// as kube's RangeAllocation bitmap at <prefix>/ranges/servicenodeports.
// They become the services row's hooks before the row is published.
func serviceAllocators(cfg Config, client *clientv3.Client, stores []*registry.Store, enc *encryption) (*core.ServiceAllocators, error) {
	cidr := cfg.ServiceClusterIPRange
	if cidr == "" {
		cidr = "10.96.0.0/12"
	}
	ips, err := allocation.NewClusterIPs(cidr, findStore(stores, "networking.k8s.io", "v1", "ipaddresses"))
	if err != nil {
		return nil, fmt.Errorf("--service-cluster-ip-range: %w", err)
	}
	ips.WithServiceCIDRs(findStore(stores, "networking.k8s.io", "v1", "servicecidrs"))
	ports, err := nodePorts(cfg, client, enc)
	if err != nil {
		return nil, err
	}
	return &core.ServiceAllocators{IPs: ips, Ports: ports}, nil
}

// nodePorts is the node-port allocator over kube's bitmap at
// <prefix>/ranges/servicenodeports, encrypted as kube's (the resource
// servicenodeportallocations: a file with "*." or "*.*" covers it).
func nodePorts(cfg Config, client *clientv3.Client, enc *encryption) (*allocation.NodePorts, error) {
	portRange := cfg.ServiceNodePortRange
	if portRange == "" {
		portRange = "30000-32767"
	}
	rangeAllocation := corev1.SchemeGroupVersion.WithKind("RangeAllocation")
	serializer, err := storageSerializer(cfg)
	if err != nil {
		return nil, err
	}
	ranges := etcd.New(client, cfg.EtcdPrefix+"/ranges/", etcd.Codec{Serializer: serializer, Decoder: storageDecoder, GVK: rangeAllocation,
		New: func() runtime.Object { return &corev1.RangeAllocation{} }, Transformer: enc.For(schema.GroupResource{Resource: "servicenodeportallocations"})})
	ports, err := allocation.NewNodePorts(portRange, ranges, "servicenodeports")
	if err != nil {
		return nil, fmt.Errorf("--service-node-port-range: %w", err)
	}
	return ports, nil
}

// ensureKubernetesServices makes the ServiceCIDR "kubernetes" (Ready) and
// the kubernetes Service in default (the first address of the range, port
// 443 to the secure port), and puts this replica into its Endpoints and
// EndpointSlice through the endpoint leases, which it returns to run. It
// runs before kapi serves.
func ensureKubernetesServices(ctx context.Context, cfg Config, client *clientv3.Client, stores []*registry.Store, ips *allocation.ClusterIPs, addr net.Addr, enc *encryption) (*endpointLeases, error) {
	services := findStore(stores, "", "v1", "services")
	if err := ensureDefaultServiceCIDR(ctx, findStore(stores, "networking.k8s.io", "v1", "servicecidrs"), ips.CIDR().String()); err != nil {
		return nil, err
	}
	port := int32(addr.(*net.TCPAddr).Port)
	if err := ensureKubernetesService(ctx, services, ips.First().String(), port, int32(cfg.KubernetesServiceNodePort)); err != nil {
		return nil, err
	}
	serializer, err := storageSerializer(cfg)
	if err != nil {
		return nil, err
	}
	leases := newEndpointLeases(client, cfg.EtcdPrefix, advertiseAddress(cfg), port, stores, serializer)
	leases.transformer = enc.For(schema.GroupResource{Resource: "apiServerIPInfo"})
	if cfg.EndpointReconcilerType == "none" {
		leases.none = true
		return leases, nil
	}
	if err := leases.reconcile(ctx); err != nil {
		return nil, fmt.Errorf("writing the kubernetes endpoints: %w", err)
	}
	return leases, nil
}

// ensureDefaultServiceCIDR makes the ServiceCIDR "kubernetes" of cidr
// unless it exists, and makes it Ready, as kube-apiserver's
// kubernetes-service-cidr-controller (defaultservicecidr.Controller.sync
// and syncStatus): the condition is set True when it is missing or
// Unknown, the ServiceCIDR holds the configured range and is not being
// deleted; a Ready=False someone else set stays. Unlike kube's, which
// runs every ten seconds, it runs at start only.
func ensureDefaultServiceCIDR(ctx context.Context, cidrs *registry.Store, cidr string) error {
	sc := &networkingv1.ServiceCIDR{ObjectMeta: metav1.ObjectMeta{Name: defaultServiceCIDR},
		Spec: networkingv1.ServiceCIDRSpec{CIDRs: []string{cidr}}}
	cur, err := cidrs.Create(ctx, "", sc, nil, false)
	if apierrors.IsAlreadyExists(err) {
		cur, err = cidrs.Get(ctx, "", defaultServiceCIDR, nil)
	}
	if err != nil {
		return fmt.Errorf("creating the ServiceCIDR kubernetes: %w", err)
	}
	if !needsDefaultReady(cur.(*networkingv1.ServiceCIDR), cidr) {
		return nil
	}
	_, _, err = cidrs.Update(ctx, "", defaultServiceCIDR, registry.Status, func(_ context.Context, old runtime.Object) (runtime.Object, error) {
		sc := old.(*networkingv1.ServiceCIDR)
		if needsDefaultReady(sc, cidr) {
			meta.SetStatusCondition(&sc.Status.Conditions, metav1.Condition{Type: networkingv1.ServiceCIDRConditionReady,
				Status: metav1.ConditionTrue, Message: "Kubernetes default Service CIDR is ready"})
		}
		return sc, nil
	}, nil, false)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("making the ServiceCIDR kubernetes Ready: %w", err)
	}
	return nil
}

// defaultServiceCIDR is kube's defaultservicecidr.DefaultServiceCIDRName.
const defaultServiceCIDR = "kubernetes"

// needsDefaultReady: kube's syncStatus sets the default ServiceCIDR Ready
// when it is not being deleted, holds the configured range only, and
// has no Ready condition or an Unknown one.
func needsDefaultReady(sc *networkingv1.ServiceCIDR, cidr string) bool {
	if sc.DeletionTimestamp != nil || len(sc.Spec.CIDRs) != 1 || sc.Spec.CIDRs[0] != cidr {
		return false
	}
	c := meta.FindStatusCondition(sc.Status.Conditions, networkingv1.ServiceCIDRConditionReady)
	return c == nil || c.Status == metav1.ConditionUnknown
}

// advertiseAddress is the address other replicas and clients reach this
// one at: --advertise-address, which as kube-apiserver's defaults to
// --bind-address: the bind address, or 127.0.0.1 when kapi binds to all
// interfaces (kube would pick the host's default interface; kapi serves
// local development first).
func advertiseAddress(cfg Config) string {
	if ip := net.ParseIP(cfg.AdvertiseAddress); ip != nil && !ip.IsUnspecified() {
		return ip.String()
	}
	if ip := net.ParseIP(cfg.BindAddress); ip != nil && !ip.IsUnspecified() {
		return ip.String()
	}
	return "127.0.0.1"
}

// kubernetesLabels are the labels kube-apiserver gives the kubernetes
// Service.
var kubernetesLabels = map[string]string{"component": "apiserver", "provider": "kubernetes"}

// ensureKubernetesService creates the kubernetes Service unless it exists;
// another replica starting at the same moment may win, which is fine.
// With nodePort (--kubernetes-service-node-port) it is a NodePort Service
// on that port, as kube's createPortAndServiceSpec makes it.
func ensureKubernetesService(ctx context.Context, services *registry.Store, clusterIP string, port, nodePort int32) error {
	ports := []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(port), NodePort: nodePort}}
	typ := corev1.ServiceTypeClusterIP
	if nodePort > 0 {
		typ = corev1.ServiceTypeNodePort
	}
	if cur, err := services.Get(ctx, metav1.NamespaceDefault, "kubernetes", nil); err == nil {
		// Kept from an earlier start; point it at this start's ports.
		if s := cur.(*corev1.Service).Spec; s.Type == typ && len(s.Ports) == 1 && s.Ports[0].TargetPort.IntValue() == int(port) &&
			s.Ports[0].NodePort == nodePort {
			return nil
		}
		_, _, err := services.Update(ctx, metav1.NamespaceDefault, "kubernetes", nil, func(_ context.Context, old runtime.Object) (runtime.Object, error) {
			svc := old.(*corev1.Service)
			svc.Spec.Type, svc.Spec.Ports = typ, ports
			if typ == corev1.ServiceTypeClusterIP {
				svc.Spec.ExternalTrafficPolicy = ""
			}
			return svc, nil
		}, nil, false)
		return err
	} else if !apierrors.IsNotFound(err) {
		return err
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: metav1.NamespaceDefault, Labels: kubernetesLabels},
		Spec:       corev1.ServiceSpec{Type: typ, ClusterIP: clusterIP, Ports: ports},
	}
	_, err := services.Create(ctx, metav1.NamespaceDefault, svc, nil, false)
	if apierrors.IsAlreadyExists(err) || apierrors.IsInvalid(err) {
		// Created (and its IP taken) by another replica meanwhile.
		if _, getErr := services.Get(ctx, metav1.NamespaceDefault, "kubernetes", nil); getErr == nil {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("creating the kubernetes Service: %w", err)
	}
	return nil
}

// putObject creates obj or replaces the stored one's content with it.
func putObject(ctx context.Context, st *registry.Store, obj runtime.Object) error {
	m, err := metaAccessor(obj)
	if err != nil {
		return err
	}
	_, err = st.Create(ctx, m.GetNamespace(), obj.DeepCopyObject(), nil, false)
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	_, _, err = st.Update(ctx, m.GetNamespace(), m.GetName(), nil, func(_ context.Context, old runtime.Object) (runtime.Object, error) {
		out := obj.DeepCopyObject()
		om, _ := metaAccessor(old)
		nm, _ := metaAccessor(out)
		nm.SetUID(om.GetUID())
		return out, nil
	}, nil, false)
	return err
}

func metaAccessor(obj runtime.Object) (metav1.Object, error) { return meta.Accessor(obj) }
