package server

import (
	"context"
	"os"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"kapi/internal/controllers"
	"kapi/internal/registry"
	"kapi/internal/registry/schemas"
)

// controllerLoops are kapi's control loops by kube-controller-manager's
// names. The Run functions read their arguments only when they run, so
// that ControllerNames can list the loops without a server (all nil).
func controllerLoops(s *Server, cfg *Config, env *controllers.Env) []controllers.Loop {
	return []controllers.Loop{
		{Name: "garbage-collector-controller", Aliases: []string{"garbagecollector"}, Run: func(ctx context.Context) {
			controllers.NewGarbageCollector(env).Run(ctx)
		}},
		{Name: "namespace-controller", Aliases: []string{"namespace"}, Run: func(ctx context.Context) {
			controllers.NewNamespaces(env).Run(ctx)
		}},
		{Name: "serviceaccount-controller", Aliases: []string{"serviceaccount"}, Run: func(ctx context.Context) {
			controllers.NewServiceAccounts(env).Run(ctx)
		}},
		{Name: "clusterrole-aggregation-controller", Aliases: []string{"clusterrole-aggregation"}, Run: func(ctx context.Context) {
			controllers.NewAggregationLoop(env).Run(ctx)
		}},
		{Name: "validatingadmissionpolicy-status-controller", Run: func(ctx context.Context) {
			controllers.NewPolicyTypeChecking(env, schemas.GetOpenAPIDefinitions).Run(ctx)
		}},
		{Name: "persistentvolumeclaim-protection-controller", Aliases: []string{"pvc-protection"}, Run: func(ctx context.Context) {
			controllers.NewClaimProtection(env).Run(ctx)
		}},
		{Name: "persistentvolume-protection-controller", Aliases: []string{"pv-protection"}, Run: func(ctx context.Context) {
			controllers.NewVolumeProtection(env).Run(ctx)
		}},
		{Name: "root-ca-certificate-publisher-controller", Aliases: []string{"root-ca-cert-publisher"}, Run: func(ctx context.Context) {
			ca, err := os.ReadFile(s.PKI.CACert)
			if err != nil {
				klog.ErrorS(err, "root-ca-certificate-publisher-controller: reading the CA bundle")
				return
			}
			controllers.NewRootCAPublisher(env, ca).Run(ctx)
		}},
		{Name: "serviceaccount-token-controller", Aliases: []string{"serviceaccount-token"}, Run: func(ctx context.Context) {
			tokens, err := tokensController(s, env)
			if err != nil {
				klog.ErrorS(err, "serviceaccount-token-controller")
				return
			}
			tokens.Run(ctx)
		}},
		{Name: "resourcequota-controller", Aliases: []string{"resourcequota"}, Run: func(ctx context.Context) {
			q := controllers.NewResourceQuotas(env)
			if cfg.ResourceQuotaSyncPeriod > 0 {
				q.ResyncPeriod = cfg.ResourceQuotaSyncPeriod
			}
			q.Run(ctx)
		}},
		{Name: "certificatesigningrequest-signing-controller", Aliases: []string{"csrsigning"}, Run: func(ctx context.Context) {
			controllers.NewCSRSigning(env, s.PKI.CACert, s.PKI.CAKey, cfg.ClusterSigningDuration).Run(ctx)
		}},
		{Name: "certificatesigningrequest-approving-controller", Aliases: []string{"csrapproving"}, Run: func(ctx context.Context) {
			controllers.NewCSRApproving(env).Run(ctx)
		}},
		{Name: "certificatesigningrequest-cleaner-controller", Aliases: []string{"csrcleaner"}, Run: func(ctx context.Context) {
			controllers.NewCSRCleaner(env).Run(ctx)
		}},
		{Name: "service-cidr-controller", Run: func(ctx context.Context) {
			controllers.NewServiceCIDRs(env).Run(ctx)
		}},
		// Off by default, as in kube-controller-manager; kubeadm turns
		// them on (--controllers=*,bootstrapsigner,tokencleaner).
		{Name: "bootstrap-signer-controller", Aliases: []string{"bootstrapsigner"}, Off: true, Run: func(ctx context.Context) {
			controllers.NewBootstrapSigner(env).Run(ctx)
		}},
		{Name: "token-cleaner-controller", Aliases: []string{"tokencleaner"}, Off: true, Run: func(ctx context.Context) {
			controllers.NewTokenCleaner(env).Run(ctx)
		}},
	}
}

// ControllerNames lists the loops --controllers can name.
func ControllerNames() []string { return controllers.Names(controllerLoops(nil, nil, nil)) }

// runControllerLoops starts the loops the configuration turns on, on this
// replica or, with --leader-elect, on the replica that holds the lease.
func (s *Server) runControllerLoops(ctx context.Context, cfg Config, cat *registry.Catalogue, lb *loopback) error {
	env := &controllers.Env{
		Catalogue: cat,
		Informers: controllers.NewInformers(ctx, cat),
		ClientFor: func(sa string) *rest.Config { return lb.Config(ServiceAccountUser("kube-system", sa)) },
	}
	env.ClientForUser = func(name string) *rest.Config { return lb.Config(authenticatedUser(name)) }
	loops := controllerLoops(s, &cfg, env)
	enabled := cfg.Controllers
	if enabled == nil {
		enabled = []string{"*"}
	}
	if !cfg.EnableGarbageCollector { // as kube-controller-manager's --enable-garbage-collector=false
		enabled = append([]string{"-garbage-collector-controller"}, enabled...)
	}
	m := &controllers.Manager{Loops: loops, Enabled: enabled}
	if cfg.LeaderElect {
		le := cfg.LeaderElection
		def := DefaultLeaderElection()
		if le.LeaseDuration == 0 {
			le = def
		}
		client, err := kubernetes.NewForConfig(lb.Config(APIServerUser))
		if err != nil {
			return err
		}
		m.Election = &controllers.LeaderElection{Client: client, Namespace: le.ResourceNamespace, Name: le.ResourceName,
			LeaseDuration: le.LeaseDuration, RenewDeadline: le.RenewDeadline, RetryPeriod: le.RetryPeriod}
	}
	s.runNow(ctx, m.Run)
	return nil
}
