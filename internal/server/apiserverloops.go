package server

import (
	"context"
	"net"
	"strconv"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"kapi/internal/controllers"
	"kapi/internal/features"
	"kapi/internal/registry"
)

// apiserverLoops are the loops kube-apiserver itself runs, whatever
// --controllers says (they are no kube-controller-manager loops, and a
// kapi beside kube-controller-manager needs them as much): on every
// replica the kubernetes Service's endpoint lease, the server's identity
// Lease and the collection of expired ones, the ConfigMap
// telling since when legacy service-account tokens are tracked and
// kube-system/extension-apiserver-authentication; on one
// replica at a time (with --leader-elect, the holder of the Lease
// kube-system/kapi-service-repair) the repair of Services' cluster IPs
// and node ports. They act as system:apiserver. The informers of those
// every replica runs are returned.
func (s *Server) apiserverLoops(ctx context.Context, cfg Config, cat *registry.Catalogue, lb *loopback, leases *endpointLeases) ([]func(context.Context), *controllers.Informers) {
	env := &controllers.Env{
		Catalogue:     cat,
		Informers:     controllers.NewInformers(ctx, cat),
		ClientFor:     func(sa string) *rest.Config { return lb.Config(ServiceAccountUser("kube-system", sa)) },
		ClientForUser: func(name string) *rest.Config { return lb.Config(authenticatedUser(name)) },
	}
	client := kubernetes.NewForConfigOrDie(lb.Config(APIServerUser))
	configMaps := env.Informers.For(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"})
	// The repair, elected, has informers of its own (not in the
	// informer-sync check).
	repairEnv := *env
	repairEnv.Informers = controllers.NewInformers(ctx, cat)
	repair := &controllers.Manager{Enabled: []string{"*"}, Loops: []controllers.Loop{
		{Name: "ipallocator-repair-controller", Run: func(ctx context.Context) {
			controllers.NewClusterIPRepair(&repairEnv, cfg.ServiceRepairInterval).Run(ctx)
		}},
		{Name: "portallocator-repair-controller", Run: func(ctx context.Context) {
			ports, err := nodePorts(cfg, s.etcd.client, s.enc)
			if err != nil {
				klog.ErrorS(err, "portallocator-repair-controller")
				return
			}
			controllers.NewNodePortRepair(&repairEnv, ports, cfg.ServiceRepairInterval).Run(ctx)
		}},
	}}
	if cfg.LeaderElect {
		le := cfg.LeaderElection
		if le.LeaseDuration == 0 {
			le = DefaultLeaderElection()
		}
		repair.Election = &controllers.LeaderElection{Client: client, Namespace: le.ResourceNamespace, Name: serviceRepairLease,
			LeaseDuration: le.LeaseDuration, RenewDeadline: le.RenewDeadline, RetryPeriod: le.RetryPeriod}
	}
	loops := []func(context.Context){
		leases.Run,
		controllers.NewLegacyTokenTracking(client, configMaps).Run,
		controllers.NewAuthenticationTrust(client, configMaps, s.authenticationInfo(cfg)).Run,
		repair.Run,
	}
	// The identity Lease and its collector, with kube's APIServerIdentity
	// gate (on by default).
	if features.Enabled(cfg.FeatureGates, features.APIServerIdentity) {
		loops = append(loops,
			controllers.IdentityLease(client, cfg.APIServerID, identityComponent, net.JoinHostPort(leases.ip, strconv.Itoa(int(leases.port))), cfg.IdentityLease),
			controllers.IdentityLeaseGC(client, identityComponent, cfg.IdentityLease))
	}
	return loops, env.Informers
}

// serviceRepairLease is the Lease of the replica that repairs Services'
// allocations.
const serviceRepairLease = "kapi-service-repair"
