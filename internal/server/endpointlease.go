package server

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/storage/value"
	"k8s.io/klog/v2"

	"kapi/internal/registry"
)

// endpointLeases is kube-apiserver's lease endpoint reconciler
// (--endpoint-reconciler-type=lease, pkg/controlplane/reconcilers/lease.go):
// each replica keeps a key <prefix>/masterleases/<ip>:<port> in etcd
// under a lease of ttl, renewed every interval, and writes the kubernetes
// Service's Endpoints and EndpointSlices from the keys that live. A
// replica that dies stops renewing; its key expires and the next
// reconcile of any other replica drops it, so it leaves within ttl +
// interval. A replica that stops gracefully removes its key and
// reconciles at once.
//
// A replica is its advertised address and secure port: kube keys leases
// by IP alone, since every kube-apiserver serves one port on its own
// host; kapi replicas may share a host (tests run three on 127.0.0.1), so
// the port is part of the key and of the endpoint. The Endpoints hold
// one subset per port (the usual case, replicas on one port, is one
// subset, as kube's); the EndpointSlices one slice per port, the first
// named "kubernetes" as kube's, the others "kubernetes-<port>".
//
// Like kube-apiserver, the leases are written straight to etcd (they are
// no API objects). The Endpoints and slices are written straight to their
// stores too, past validation, as kapi wrote them before: the address
// may be a loopback one, which the Endpoints' validation refuses to
// clients unless --proxy-allow-loopback (it is kapi's own).
type endpointLeases struct {
	client   *clientv3.Client
	prefix   string // ".../masterleases/"
	ip       string
	port     int32
	ttl      time.Duration
	interval time.Duration
	// endpoints and slices are stores of the rows without the loopback
	// check.
	endpoints, slices *registry.Store
	lease             clientv3.LeaseID
	// transformer encrypts the leases in etcd as kube-apiserver's
	// (--encryption-provider-config, the resource apiServerIPInfo: a
	// file with "*." or "*.*" covers them); nil stores them as encoded.
	transformer value.Transformer
	// serializer writes the leases (--storage-media-type).
	serializer runtime.Serializer
	// none: --endpoint-reconciler-type=none, no lease and no endpoints
	// written (the address stays, for the identity Lease).
	none bool
}

// kube-apiserver's defaults: --endpoint-reconciler lease TTL 15 s, a
// reconcile every 10 s (EndpointReconcilerConfig.Interval).
const (
	masterLeaseTTL      = 15 * time.Second
	endpointSyncEvery   = 10 * time.Second
	kubernetesPortName  = "https"
	skipMirrorLabel     = "endpointslice.kubernetes.io/skip-mirror"
	kubernetesService   = "kubernetes"
	kubernetesNamespace = metav1.NamespaceDefault
)

func newEndpointLeases(client *clientv3.Client, etcdPrefix, ip string, port int32, stores []*registry.Store, serializer runtime.Serializer) *endpointLeases {
	return &endpointLeases{client: client, prefix: etcdPrefix + "/masterleases/", ip: ip, port: port, serializer: serializer,
		ttl: masterLeaseTTL, interval: endpointSyncEvery,
		endpoints: findStore(stores, "", "v1", "endpoints"),
		slices:    findStore(stores, "discovery.k8s.io", "v1", "endpointslices")}
}

func (l *endpointLeases) key() string {
	return l.prefix + net.JoinHostPort(l.ip, strconv.Itoa(int(l.port)))
}

// Run reconciles every interval until ctx ends, then takes this replica
// out. It also writes the endpoints as soon as another replica's lease
// comes or goes (etcd deletes an expired lease's key): a replica that
// died leaves the endpoints when its lease expires, within the TTL of
// its last renewal, rather than up to an interval later, as kube's.
func (l *endpointLeases) Run(ctx context.Context) {
	if l.none {
		return
	}
	t := time.NewTicker(l.interval)
	defer t.Stop()
	var changes clientv3.WatchChan
	for {
		if changes == nil {
			changes = l.client.Watch(clientv3.WithRequireLeader(ctx), l.prefix, clientv3.WithPrefix(), clientv3.WithFilterPut())
		}
		select {
		case resp, ok := <-changes:
			if !ok || resp.Err() != nil {
				changes = nil // watched again on the next turn
				if ctx.Err() == nil {
					sleepCtx(ctx, time.Second)
				}
				continue
			}
			if err := l.write(ctx); err != nil && ctx.Err() == nil {
				klog.ErrorS(err, "writing the kubernetes endpoints after a replica left")
			}
		case <-ctx.Done():
			bg, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := l.remove(bg); err != nil {
				klog.ErrorS(err, "removing this replica from the kubernetes endpoints")
			}
			return
		case <-t.C:
			if err := l.reconcile(ctx); err != nil && ctx.Err() == nil {
				klog.ErrorS(err, "reconciling the kubernetes endpoints")
			}
		}
	}
}

// reconcile renews this replica's lease and writes the endpoints of the
// replicas whose leases live.
func (l *endpointLeases) reconcile(ctx context.Context) error {
	if err := l.renew(ctx); err != nil {
		return err
	}
	return l.write(ctx)
}

// remove deletes this replica's lease and writes the others' endpoints.
func (l *endpointLeases) remove(ctx context.Context) error {
	if _, err := l.client.Delete(ctx, l.key()); err != nil {
		return err
	}
	if l.lease != 0 {
		l.client.Revoke(ctx, l.lease)
	}
	return l.write(ctx)
}

// renew keeps the lease alive, or grants a new one when it expired (a
// long pause, etcd restored), and writes the key under it unless it is
// there already (a renewal writes nothing, so the revision stays).
func (l *endpointLeases) renew(ctx context.Context) error {
	if l.lease != 0 {
		if _, err := l.client.KeepAliveOnce(ctx, l.lease); err != nil {
			l.lease = 0
		} else if resp, err := l.client.Get(ctx, l.key(), clientv3.WithKeysOnly()); err == nil &&
			len(resp.Kvs) == 1 && resp.Kvs[0].Lease == int64(l.lease) {
			return nil
		}
	}
	if l.lease == 0 {
		g, err := l.client.Grant(ctx, int64(l.ttl/time.Second))
		if err != nil {
			return fmt.Errorf("granting the master lease: %w", err)
		}
		l.lease = g.ID
	}
	value, err := encodeMasterLease(l.serializer, l.ip, l.port)
	if err != nil {
		return err
	}
	if value, err = sealValue(ctx, l.transformer, l.key(), value); err != nil {
		return err
	}
	_, err = l.client.Put(ctx, l.key(), string(value), clientv3.WithLease(l.lease))
	return err
}

// masterLease is one replica: an Endpoints object named by its address,
// as kube stores its master leases, with the port.
type masterLease struct {
	ip   string
	port int32
}

func encodeMasterLease(serializer runtime.Serializer, ip string, port int32) ([]byte, error) {
	ep := &corev1.Endpoints{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Endpoints"},
		ObjectMeta: metav1.ObjectMeta{Name: ip},
		Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: ip}},
			Ports: []corev1.EndpointPort{{Name: kubernetesPortName, Port: port, Protocol: corev1.ProtocolTCP}}}}}
	var b bytes.Buffer
	if err := serializer.Encode(ep, &b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// live lists the replicas whose leases have not expired, this one
// included when it holds one, by port then address.
func (l *endpointLeases) live(ctx context.Context) ([]masterLease, error) {
	resp, err := l.client.Get(ctx, l.prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	var out []masterLease
	for _, kv := range resp.Kvs {
		data, err := openValue(ctx, l.transformer, string(kv.Key), kv.Value)
		if err != nil {
			klog.Warningf("master lease %s cannot be read (%v); ignored", kv.Key, err)
			continue
		}
		obj, _, err := storageDecoder.Decode(data, nil, &corev1.Endpoints{})
		ep, ok := obj.(*corev1.Endpoints)
		if err != nil || !ok || len(ep.Subsets) != 1 || len(ep.Subsets[0].Addresses) != 1 || len(ep.Subsets[0].Ports) != 1 {
			klog.Warningf("master lease %s cannot be read; ignored", kv.Key)
			continue
		}
		out = append(out, masterLease{ip: ep.Subsets[0].Addresses[0].IP, port: ep.Subsets[0].Ports[0].Port})
	}
	slices.SortFunc(out, func(a, b masterLease) int {
		return cmp.Or(cmp.Compare(a.port, b.port), cmp.Compare(a.ip, b.ip))
	})
	return slices.Compact(out), nil
}

// write makes the kubernetes Endpoints and EndpointSlices list the live
// replicas; what is already so is not written again.
func (l *endpointLeases) write(ctx context.Context) error {
	replicas, err := l.live(ctx)
	if err != nil {
		return err
	}
	eps, want := kubernetesEndpoints(replicas)
	if err := putIfChanged(ctx, l.endpoints, eps); err != nil {
		return fmt.Errorf("writing the kubernetes Endpoints: %w", err)
	}
	keep := map[string]bool{}
	for _, s := range want {
		keep[s.Name] = true
		if err := putIfChanged(ctx, l.slices, s); err != nil {
			return fmt.Errorf("writing the EndpointSlice %s: %w", s.Name, err)
		}
	}
	list, err := l.slices.List(ctx, kubernetesNamespace, &metav1.ListOptions{
		LabelSelector: labels.Set{discoveryv1.LabelServiceName: kubernetesService}.String()})
	if err != nil {
		return err
	}
	for _, s := range list.(*discoveryv1.EndpointSliceList).Items {
		if !keep[s.Name] && s.Labels[discoveryv1.LabelManagedBy] == "" {
			if _, _, err := l.slices.Delete(ctx, kubernetesNamespace, s.Name, nil, nil, false); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		}
	}
	return nil
}

// kubernetesEndpoints are the Endpoints and EndpointSlices of replicas
// (sorted by port then address): one subset and one slice per port (and
// address family); with no replica, no subset and an empty slice.
func kubernetesEndpoints(replicas []masterLease) (*corev1.Endpoints, []*discoveryv1.EndpointSlice) {
	eps := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: kubernetesService, Namespace: kubernetesNamespace,
		Labels: map[string]string{skipMirrorLabel: "true"}}}
	var out []*discoveryv1.EndpointSlice
	for i := 0; i < len(replicas); {
		port := replicas[i].port
		var addrs []corev1.EndpointAddress
		byFamily := map[discoveryv1.AddressType][]discoveryv1.Endpoint{}
		for ; i < len(replicas) && replicas[i].port == port; i++ {
			ip := replicas[i].ip
			addrs = append(addrs, corev1.EndpointAddress{IP: ip})
			ready := true
			byFamily[addressType(ip)] = append(byFamily[addressType(ip)],
				discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
		}
		eps.Subsets = append(eps.Subsets, corev1.EndpointSubset{Addresses: addrs,
			Ports: []corev1.EndpointPort{{Name: kubernetesPortName, Port: port, Protocol: corev1.ProtocolTCP}}})
		for _, family := range []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6} {
			if len(byFamily[family]) == 0 {
				continue
			}
			name := kubernetesService
			if len(out) > 0 {
				name = fmt.Sprintf("%s-%s-%d", kubernetesService, map[discoveryv1.AddressType]string{
					discoveryv1.AddressTypeIPv4: "ipv4", discoveryv1.AddressTypeIPv6: "ipv6"}[family], port)
			}
			https, tcp, p := kubernetesPortName, corev1.ProtocolTCP, port
			out = append(out, &discoveryv1.EndpointSlice{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: kubernetesNamespace,
					Labels: map[string]string{discoveryv1.LabelServiceName: kubernetesService}},
				AddressType: family,
				Endpoints:   byFamily[family],
				Ports:       []discoveryv1.EndpointPort{{Name: &https, Port: &p, Protocol: &tcp}},
			})
		}
	}
	if len(out) == 0 {
		// The last replica gone: the slice stays, empty, as kube's.
		out = append(out, &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{Name: kubernetesService, Namespace: kubernetesNamespace,
				Labels: map[string]string{discoveryv1.LabelServiceName: kubernetesService}},
			AddressType: discoveryv1.AddressTypeIPv4,
		})
	}
	return eps, out
}

func addressType(ip string) discoveryv1.AddressType {
	if a := net.ParseIP(ip); a != nil && a.To4() == nil {
		return discoveryv1.AddressTypeIPv6
	}
	return discoveryv1.AddressTypeIPv4
}

// putIfChanged writes want unless the stored object already has its
// labels and content.
func putIfChanged(ctx context.Context, st *registry.Store, want runtime.Object) error {
	m, err := metaAccessor(want)
	if err != nil {
		return err
	}
	cur, err := st.Get(ctx, m.GetNamespace(), m.GetName(), nil)
	if err == nil && sameContent(cur, want) {
		return nil
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return putObject(ctx, st, want)
}

// sameContent compares what the reconciler sets: labels, and subsets or
// address type, endpoints and ports.
func sameContent(cur, want runtime.Object) bool {
	switch w := want.(type) {
	case *corev1.Endpoints:
		c := cur.(*corev1.Endpoints)
		return apiequality.Semantic.DeepEqual(c.Labels, w.Labels) && apiequality.Semantic.DeepEqual(c.Subsets, w.Subsets)
	case *discoveryv1.EndpointSlice:
		c := cur.(*discoveryv1.EndpointSlice)
		return apiequality.Semantic.DeepEqual(c.Labels, w.Labels) && c.AddressType == w.AddressType &&
			apiequality.Semantic.DeepEqual(c.Endpoints, w.Endpoints) && apiequality.Semantic.DeepEqual(c.Ports, w.Ports)
	}
	return false
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
