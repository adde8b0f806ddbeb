package controllers

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"

	"kapi/internal/metrics"
)

// Loop is one control loop as --controllers names it.
type Loop struct {
	// Name is kube-controller-manager's name for the loop
	// ("garbage-collector-controller"); Aliases its older names
	// ("garbagecollector"), accepted too.
	Name    string
	Aliases []string
	// Off: only an explicit --controllers entry turns it on.
	Off bool
	// EveryReplica loops run on each replica, elected or not (the
	// kubernetes Service's endpoint lease of each replica).
	EveryReplica bool
	// Run works until ctx ends.
	Run func(ctx context.Context)
}

// Enabled reports whether --controllers (list) turns the loop on, with
// kube-controller-manager's rules: "name" on, "-name" off, "*" every loop
// that is on by default; the first entry naming the loop decides.
func (l Loop) Enabled(list []string) bool {
	star := false
	for _, e := range list {
		for _, n := range append([]string{l.Name}, l.Aliases...) {
			if e == n {
				return true
			}
			if e == "-"+n {
				return false
			}
		}
		if e == "*" {
			star = true
		}
	}
	return star && !l.Off
}

// CheckNames refuses a --controllers entry that names no loop, as
// kube-controller-manager does.
func CheckNames(loops []Loop, list []string) error {
	known := map[string]bool{"*": true}
	var names []string
	for _, l := range loops {
		names = append(names, l.Name)
		for _, n := range append([]string{l.Name}, l.Aliases...) {
			known[n] = true
		}
	}
	sort.Strings(names)
	for _, e := range list {
		if !known[strings.TrimPrefix(e, "-")] {
			return fmt.Errorf("%q is not in the list of known controllers: %s", e, strings.Join(names, ", "))
		}
	}
	return nil
}

// LeaderElection is where the replicas of one etcd agree which of them
// runs the loops: a coordination.k8s.io/v1 Lease, held by client-go's
// leader elector, the same algorithm kube-controller-manager uses (and
// the same record, so `kubectl get lease -n kube-system` reads alike).
type LeaderElection struct {
	Client          kubernetes.Interface
	Namespace, Name string
	Identity        string
	LeaseDuration   time.Duration
	RenewDeadline   time.Duration
	RetryPeriod     time.Duration
}

// Manager runs the loops --controllers turns on: on every replica those
// marked so, and the others only while this replica holds the lease.
type Manager struct {
	Loops    []Loop
	Enabled  []string
	Election *LeaderElection // nil: no election, run here (--leader-elect=false)
}

// Run works until ctx ends; it returns once every loop it started has
// returned.
func (m *Manager) Run(ctx context.Context) {
	var everywhere, elected []Loop
	for _, l := range m.Loops {
		switch {
		case !l.Enabled(m.Enabled):
			klog.V(2).InfoS("controller disabled", "name", l.Name)
		case l.EveryReplica || m.Election == nil:
			everywhere = append(everywhere, l)
		default:
			elected = append(elected, l)
		}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		runAll(ctx, everywhere)
	}()
	if len(elected) > 0 {
		m.campaign(ctx, elected)
	}
	wg.Wait()
}

// campaign runs the loops while this replica leads, and stands again
// after it lost the lease, until ctx ends. A replica that lost the lease
// stops its loops (and waits for them) before the others may take it:
// the lease runs LeaseDuration from the last renewal the others saw,
// while this one gives up after RenewDeadline.
func (m *Manager) campaign(ctx context.Context, loops []Loop) {
	e := m.Election
	if e.Identity == "" {
		host, _ := os.Hostname()
		e.Identity = host + "_" + string(uuid.NewUUID())
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metaFor(e.Namespace, e.Name),
		Client:     e.Client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: e.Identity},
	}
	leaderStatus.WithLabelValues(e.Name).Set(0)
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock: lock, Name: e.Name, ReleaseOnCancel: true,
			LeaseDuration: e.LeaseDuration, RenewDeadline: e.RenewDeadline, RetryPeriod: e.RetryPeriod,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(ctx context.Context) {
					leaderStatus.WithLabelValues(e.Name).Set(1)
					klog.InfoS("leading: starting the controllers", "lease", e.Namespace+"/"+e.Name, "identity", e.Identity)
					runAll(ctx, loops)
				},
				OnStoppedLeading: func() {
					leaderStatus.WithLabelValues(e.Name).Set(0)
					klog.InfoS("no longer leading: the controllers stopped", "lease", e.Namespace+"/"+e.Name, "identity", e.Identity)
				},
			},
		})
		if err != nil {
			klog.ErrorS(err, "leader election")
			return
		}
		le.Run(ctx)
	}
}

// runAll runs loops until ctx ends and they have all returned.
func runAll(ctx context.Context, loops []Loop) {
	var wg sync.WaitGroup
	for _, l := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			klog.V(2).InfoS("starting controller", "name", l.Name)
			l.Run(ctx)
		}()
	}
	wg.Wait()
}

// Names are the loops' names, sorted, for --help.
func Names(loops []Loop) []string {
	var out []string
	for _, l := range loops {
		out = append(out, l.Name)
	}
	slices.Sort(out)
	return out
}

// leaderStatus is client-go's leader_election_master_status, set from
// the elector's callbacks rather than through leaderelection.SetProvider:
// the global provider is set once per process, by whichever init comes
// first (controller-runtime's, in a test process that links it).
var leaderStatus = metrics.Gauge("leader_election_master_status",
	"[ALPHA] Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease. Please make sure to group by name.", "name")

func metaFor(namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: namespace, Name: name}
}
