package apps

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kapi/internal/registry"

	"kapi/internal/registry/fieldtest"
)

// statusOf is the status subresource of the apps row of kind.
func statusOf(t *testing.T, kind string) *registry.Subresource {
	t.Helper()
	for _, r := range Resources() {
		if r.Kind == kind {
			if s := r.Sub("status"); s != nil && s.Validate != nil {
				return s
			}
		}
	}
	t.Fatalf("%s has no status subresource of its own", kind)
	return nil
}

// statusCase is a status written over a stored one (nil: the empty
// status) and kube 1.37's errors for it.
type statusCase[S any] struct {
	name          string
	stored, write func(*S)
	want          string
}

// runStatus writes each case's status into a copy of obj and validates
// it as the status subresource does.
func runStatus[S any](t *testing.T, kind string, obj runtime.Object, status func(runtime.Object) *S, cases []statusCase[S]) {
	t.Helper()
	sub := statusOf(t, kind)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			old := obj.DeepCopyObject()
			if c.stored != nil {
				c.stored(status(old))
			}
			now := old.DeepCopyObject()
			c.write(status(now))
			if got := fieldtest.Lines(sub.Validate(now, old)); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// progression is a controller's successive writes of a status, each of
// which must pass over the one before.
func progression[S any](t *testing.T, kind string, obj runtime.Object, status func(runtime.Object) *S, steps ...func(*S)) {
	t.Helper()
	sub := statusOf(t, kind)
	old := obj.DeepCopyObject()
	for i, step := range steps {
		now := old.DeepCopyObject()
		step(status(now))
		if errs := sub.Validate(now, old); len(errs) > 0 {
			t.Errorf("%s step %d: %s", kind, i, fieldtest.Lines(errs))
		}
		old = now
	}
}

func deploymentStatusOf(o runtime.Object) *appsv1.DeploymentStatus {
	return &o.(*appsv1.Deployment).Status
}
func replicaSetStatusOf(o runtime.Object) *appsv1.ReplicaSetStatus {
	return &o.(*appsv1.ReplicaSet).Status
}
func statefulSetStatusOf(o runtime.Object) *appsv1.StatefulSetStatus {
	return &o.(*appsv1.StatefulSet).Status
}
func daemonSetStatusOf(o runtime.Object) *appsv1.DaemonSetStatus {
	return &o.(*appsv1.DaemonSet).Status
}

// TestDeploymentStatusUpdates: kube's ValidateDeploymentStatusUpdate.
func TestDeploymentStatusUpdates(t *testing.T) {
	d := deployment(nil)
	create(deploymentHooks, d)
	progression(t, "Deployment", d, deploymentStatusOf,
		func(s *appsv1.DeploymentStatus) {
			s.ObservedGeneration, s.Replicas, s.UpdatedReplicas, s.UnavailableReplicas = 1, 3, 3, 3
			s.TerminatingReplicas = i32(0)
		},
		func(s *appsv1.DeploymentStatus) {
			s.ReadyReplicas, s.AvailableReplicas, s.UnavailableReplicas = 2, 1, 2
		},
		func(s *appsv1.DeploymentStatus) {
			s.ReadyReplicas, s.AvailableReplicas, s.UnavailableReplicas = 3, 3, 0
		},
		// a rollout: the new replica set's pods on top of the old ones
		func(s *appsv1.DeploymentStatus) {
			s.ObservedGeneration, s.Replicas, s.UpdatedReplicas, s.CollisionCount = 2, 4, 1, i32(1)
		},
		func(s *appsv1.DeploymentStatus) {
			s.Replicas, s.UpdatedReplicas, s.TerminatingReplicas, s.CollisionCount = 3, 3, i32(1), i32(2)
		},
		func(s *appsv1.DeploymentStatus) { s.TerminatingReplicas = i32(0) },
	)
	runStatus(t, "Deployment", d, deploymentStatusOf, []statusCase[appsv1.DeploymentStatus]{
		{"negative counts", nil, func(s *appsv1.DeploymentStatus) {
			s.ObservedGeneration, s.Replicas, s.UpdatedReplicas, s.ReadyReplicas, s.AvailableReplicas, s.UnavailableReplicas = -1, -1, -1, -1, -1, -1
			s.TerminatingReplicas, s.CollisionCount = i32(-1), i32(-1)
		}, "status.observedGeneration: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.replicas: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.updatedReplicas: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.readyReplicas: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.availableReplicas: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.unavailableReplicas: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.terminatingReplicas: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.collisionCount: Invalid value: -1: must be greater than or equal to 0"},
		{"more than all replicas", nil, func(s *appsv1.DeploymentStatus) {
			s.Replicas, s.UpdatedReplicas, s.ReadyReplicas, s.AvailableReplicas = 2, 3, 3, 3
		}, "status.updatedReplicas: Invalid value: 3: cannot be greater than status.replicas\n" +
			"status.readyReplicas: Invalid value: 3: cannot be greater than status.replicas\n" +
			"status.availableReplicas: Invalid value: 3: cannot be greater than status.replicas"},
		{"available but not ready", nil, func(s *appsv1.DeploymentStatus) { s.Replicas, s.ReadyReplicas, s.AvailableReplicas = 3, 1, 2 },
			"status.availableReplicas: Invalid value: 2: cannot be greater than readyReplicas"},
		{"collision count decremented", func(s *appsv1.DeploymentStatus) { s.CollisionCount = i32(2) },
			func(s *appsv1.DeploymentStatus) { s.CollisionCount = i32(1) }, "status.collisionCount: Invalid value: 1: cannot be decremented"},
		{"collision count dropped", func(s *appsv1.DeploymentStatus) { s.CollisionCount = i32(2) },
			func(s *appsv1.DeploymentStatus) { s.CollisionCount = nil }, "status.collisionCount: Invalid value: 0: cannot be decremented"},
	})
	// As kube's, a status write keeps the deployment's labels.
	if s := statusOf(t, "Deployment"); !slices.Contains(s.Resets, "metadata.labels") {
		t.Errorf("the deployments' status writes reset %v", s.Resets)
	}
}

// TestReplicaSetStatusUpdates: kube's ValidateReplicaSetStatusUpdate,
// which compares nothing with the stored status.
func TestReplicaSetStatusUpdates(t *testing.T) {
	rs := replicaSet(nil)
	create(replicaSetHooks, rs)
	progression(t, "ReplicaSet", rs, replicaSetStatusOf,
		func(s *appsv1.ReplicaSetStatus) { s.ObservedGeneration, s.Replicas, s.FullyLabeledReplicas = 1, 3, 3 },
		func(s *appsv1.ReplicaSetStatus) { s.ReadyReplicas, s.AvailableReplicas = 3, 2 },
		func(s *appsv1.ReplicaSetStatus) {
			s.ObservedGeneration, s.Replicas, s.FullyLabeledReplicas, s.ReadyReplicas, s.AvailableReplicas = 2, 1, 1, 1, 1
			s.TerminatingReplicas = i32(2)
		},
		func(s *appsv1.ReplicaSetStatus) { s.ObservedGeneration = 1 },
	)
	runStatus(t, "ReplicaSet", rs, replicaSetStatusOf, []statusCase[appsv1.ReplicaSetStatus]{
		{"negative counts", nil, func(s *appsv1.ReplicaSetStatus) {
			s.Replicas, s.FullyLabeledReplicas, s.ReadyReplicas, s.AvailableReplicas, s.ObservedGeneration = -1, -1, -1, -1, -1
			s.TerminatingReplicas = i32(-1)
		}, "status.replicas: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.fullyLabeledReplicas: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.readyReplicas: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.availableReplicas: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.observedGeneration: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.terminatingReplicas: Invalid value: -1: must be greater than or equal to 0"},
		{"more than all replicas", nil, func(s *appsv1.ReplicaSetStatus) {
			s.Replicas, s.FullyLabeledReplicas, s.ReadyReplicas, s.AvailableReplicas = 1, 2, 2, 2
		}, "status.fullyLabeledReplicas: Invalid value: 2: cannot be greater than status.replicas\n" +
			"status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas\n" +
			"status.availableReplicas: Invalid value: 2: cannot be greater than status.replicas"},
		{"available but not ready", nil, func(s *appsv1.ReplicaSetStatus) { s.Replicas, s.ReadyReplicas, s.AvailableReplicas = 3, 0, 1 },
			"status.availableReplicas: Invalid value: 1: cannot be greater than readyReplicas"},
	})
}

// TestStatefulSetStatusUpdates: kube's ValidateStatefulSetStatusUpdate.
func TestStatefulSetStatusUpdates(t *testing.T) {
	ss := statefulSet(nil)
	create(statefulSetHooks, ss)
	progression(t, "StatefulSet", ss, statefulSetStatusOf,
		func(s *appsv1.StatefulSetStatus) {
			s.ObservedGeneration, s.Replicas, s.CurrentReplicas, s.UpdatedReplicas = 1, 1, 1, 1
			s.CurrentRevision, s.UpdateRevision, s.CollisionCount = "web-5d4f8", "web-5d4f8", i32(0)
		},
		func(s *appsv1.StatefulSetStatus) {
			s.Replicas, s.ReadyReplicas, s.AvailableReplicas, s.CurrentReplicas, s.UpdatedReplicas = 3, 3, 3, 3, 3
		},
		func(s *appsv1.StatefulSetStatus) {
			s.ObservedGeneration, s.UpdateRevision, s.UpdatedReplicas, s.CurrentReplicas, s.CollisionCount = 2, "web-7c9b6", 1, 2, i32(1)
		},
	)
	runStatus(t, "StatefulSet", ss, statefulSetStatusOf, []statusCase[appsv1.StatefulSetStatus]{
		{"negative counts", nil, func(s *appsv1.StatefulSetStatus) {
			s.Replicas, s.ReadyReplicas, s.CurrentReplicas, s.UpdatedReplicas, s.AvailableReplicas, s.ObservedGeneration = -1, -1, -1, -1, -1, -1
			s.CollisionCount = i32(-1)
		}, "status.replicas: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.readyReplicas: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.currentReplicas: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.updatedReplicas: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.availableReplicas: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.observedGeneration: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.collisionCount: Invalid value: -1: must be greater than or equal to 0"},
		{"more than all replicas", nil, func(s *appsv1.StatefulSetStatus) {
			s.Replicas, s.ReadyReplicas, s.CurrentReplicas, s.UpdatedReplicas, s.AvailableReplicas = 1, 2, 2, 2, 2
		}, "status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas\n" +
			"status.currentReplicas: Invalid value: 2: cannot be greater than status.replicas\n" +
			"status.updatedReplicas: Invalid value: 2: cannot be greater than status.replicas\n" +
			"status.availableReplicas: Invalid value: 2: cannot be greater than status.replicas"},
		{"available but not ready", nil, func(s *appsv1.StatefulSetStatus) { s.Replicas, s.ReadyReplicas, s.AvailableReplicas = 3, 1, 2 },
			"status.availableReplicas: Invalid value: 2: cannot be greater than status.readyReplicas"},
		{"collision count decremented", func(s *appsv1.StatefulSetStatus) { s.CollisionCount = i32(3) },
			func(s *appsv1.StatefulSetStatus) { s.CollisionCount = i32(0) }, "status.collisionCount: Invalid value: 0: cannot be decremented"},
	})
}

// TestDaemonSetStatusUpdates: kube's ValidateDaemonSetStatusUpdate.
func TestDaemonSetStatusUpdates(t *testing.T) {
	ds := daemonSet(nil)
	create(daemonSetHooks, ds)
	progression(t, "DaemonSet", ds, daemonSetStatusOf,
		func(s *appsv1.DaemonSetStatus) {
			s.ObservedGeneration, s.DesiredNumberScheduled, s.CurrentNumberScheduled, s.NumberUnavailable = 1, 3, 3, 3
		},
		func(s *appsv1.DaemonSetStatus) {
			s.NumberReady, s.NumberAvailable, s.UpdatedNumberScheduled, s.NumberUnavailable = 3, 3, 3, 0
		},
		// a node gone: the counts of nodes are not compared with each other
		func(s *appsv1.DaemonSetStatus) {
			s.DesiredNumberScheduled, s.NumberMisscheduled, s.CollisionCount = 2, 1, i32(1)
		},
	)
	runStatus(t, "DaemonSet", ds, daemonSetStatusOf, []statusCase[appsv1.DaemonSetStatus]{
		{"negative counts", nil, func(s *appsv1.DaemonSetStatus) {
			s.CurrentNumberScheduled, s.NumberMisscheduled, s.DesiredNumberScheduled, s.NumberReady = -1, -1, -1, -1
			s.ObservedGeneration, s.UpdatedNumberScheduled, s.NumberAvailable, s.NumberUnavailable = -1, -1, -1, -1
			s.CollisionCount = i32(-1)
		}, "status.currentNumberScheduled: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.numberMisscheduled: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.desiredNumberScheduled: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.numberReady: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.observedGeneration: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.updatedNumberScheduled: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.numberAvailable: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.numberUnavailable: Invalid value: -1: must be greater than or equal to 0\n" +
			"status.collisionCount: Invalid value: -1: must be greater than or equal to 0"},
		{"collision count dropped", func(s *appsv1.DaemonSetStatus) { s.CollisionCount = i32(1) },
			func(s *appsv1.DaemonSetStatus) { s.CollisionCount = nil }, "status.collisionCount: Invalid value: 0: cannot be decremented"},
	})
}

// TestStatusWritesSkipTheSpec: kube's status strategies validate the
// status alone, so a workload whose stored spec today's rules refuse
// still has its status written.
func TestStatusWritesSkipTheSpec(t *testing.T) {
	cases := []struct {
		kind string
		obj  runtime.Object
	}{
		{"Deployment", deployment(func(d *appsv1.Deployment) { d.Spec.MinReadySeconds = 900 })},
		{"ReplicaSet", replicaSet(func(rs *appsv1.ReplicaSet) { rs.Spec.Template.Spec.Containers[0].Image = "" })},
		{"StatefulSet", statefulSet(func(ss *appsv1.StatefulSet) { ss.Spec.VolumeClaimTemplates[0].Spec.AccessModes = nil })},
		{"DaemonSet", daemonSet(func(ds *appsv1.DaemonSet) { ds.Spec.Selector = nil })},
	}
	for _, c := range cases {
		var hooks *registry.Hooks
		for _, r := range Resources() {
			if r.Kind == c.kind {
				hooks = r.Hooks
			}
		}
		hooks.Default(c.obj)
		if len(hooks.Validate(c.obj, nil)) == 0 {
			t.Fatalf("%s: the stored spec is meant to be invalid", c.kind)
		}
		if errs := statusOf(t, c.kind).Validate(c.obj.DeepCopyObject(), c.obj); len(errs) > 0 {
			t.Errorf("%s status write: %s", c.kind, fieldtest.Lines(errs))
		}
	}
}
