package batch

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"kapi/internal/registry/fieldtest"
)

// errList is errs as "path: message" lines, kube's detail included.

func indexed(completions, parallelism int32) func(*batchv1.Job) {
	return func(j *batchv1.Job) {
		j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
		j.Spec.Completions, j.Spec.Parallelism = &completions, &parallelism
	}
}

func failurePolicy(rules ...batchv1.PodFailurePolicyRule) func(*batchv1.Job) {
	return func(j *batchv1.Job) { j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: rules} }
}

func onExit(op batchv1.PodFailurePolicyOnExitCodesOperator, values ...int32) *batchv1.PodFailurePolicyOnExitCodesRequirement {
	return &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: op, Values: values}
}

func all(muts ...func(*batchv1.Job)) func(*batchv1.Job) {
	return func(j *batchv1.Job) {
		for _, m := range muts {
			m(j)
		}
	}
}

// TestJobSpecValidation: kube 1.37's checks of a new job's spec, with its
// paths and messages (pkg/apis/batch/validation).
func TestJobSpecValidation(t *testing.T) {
	cases := []struct {
		name string
		mut  func(*batchv1.Job)
		want string // every error, "path: message", one a line
	}{
		{"indexed", indexed(4, 2), ""},
		{"per-index backoff", all(indexed(4, 2), func(j *batchv1.Job) {
			j.Spec.BackoffLimitPerIndex, j.Spec.MaxFailedIndexes = ptr.To[int32](1), ptr.To[int32](2)
		}), ""},
		{"max failed indexes without per-index backoff", all(indexed(4, 2), func(j *batchv1.Job) { j.Spec.MaxFailedIndexes = ptr.To[int32](5) }),
			"spec.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified\n" +
				"spec.maxFailedIndexes: Invalid value: 5: must be less than or equal to completions"},
		{"per-index backoff of a job not indexed", func(j *batchv1.Job) { j.Spec.BackoffLimitPerIndex = ptr.To[int32](1) },
			"spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode"},
		{"indexed parallelism", indexed(4, 100_001),
			"spec.parallelism: Invalid value: 100001: must be less than or equal to 100000 when completion mode is Indexed"},
		{"high completions with per-index backoff", all(indexed(200_000, 20_000), func(j *batchv1.Job) { j.Spec.BackoffLimitPerIndex = ptr.To[int32](1) }),
			"spec.maxFailedIndexes: Required value: must be specified when completions is above 100000\n" +
				"spec.parallelism: Invalid value: 20000: must be less than or equal to 10000 when completions are above 100000 and used with backoff limit per index"},
		{"name too long for an index", all(indexed(100, 1), func(j *batchv1.Job) { j.Name = strings.Repeat("a", 61) }),
			"metadata.name: Invalid value: \"" + strings.Repeat("a", 61) + "\": will not able to create pod with invalid DNS label: " + strings.Repeat("a", 61) + "-99"},
		{"managed by", func(j *batchv1.Job) { j.Spec.ManagedBy = ptr.To("kueue.x-k8s.io/manager") }, ""},
		{"managed by no domain", func(j *batchv1.Job) { j.Spec.ManagedBy = ptr.To("manager") },
			"spec.managedBy: Invalid value: \"manager\": must be a domain-prefixed path (such as \"acme.io/foo\")"},
		{"replacement policy with failure policy", failurePolicy(batchv1.PodFailurePolicyRule{Action: batchv1.PodFailurePolicyActionIgnore,
			OnExitCodes: onExit(batchv1.PodFailurePolicyOnExitCodesOpIn, 1)}), ""},
		{"replacement policy other than Failed", all(failurePolicy(batchv1.PodFailurePolicyRule{Action: batchv1.PodFailurePolicyActionIgnore,
			OnExitCodes: onExit(batchv1.PodFailurePolicyOnExitCodesOpIn, 1)}), func(j *batchv1.Job) { j.Spec.PodReplacementPolicy = ptr.To(batchv1.TerminatingOrFailed) }),
			"spec.podReplacementPolicy: Unsupported value: \"TerminatingOrFailed\": supported values: \"Failed\""},
		{"unknown replacement policy", func(j *batchv1.Job) { j.Spec.PodReplacementPolicy = ptr.To[batchv1.PodReplacementPolicy]("Never") },
			"spec.podReplacementPolicy: Unsupported value: \"Never\": supported values: \"Failed\", \"TerminatingOrFailed\""},
		{"failure policy rules", failurePolicy(
			batchv1.PodFailurePolicyRule{OnExitCodes: onExit("", 3, 1, 1)},
			batchv1.PodFailurePolicyRule{Action: "Retry", OnExitCodes: onExit(batchv1.PodFailurePolicyOnExitCodesOpIn, 0)},
			batchv1.PodFailurePolicyRule{Action: batchv1.PodFailurePolicyActionFailIndex, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{
				{Type: "Disruption Target", Status: ""}, {Type: corev1.DisruptionTarget, Status: "Maybe"}}},
			batchv1.PodFailurePolicyRule{Action: batchv1.PodFailurePolicyActionCount},
			batchv1.PodFailurePolicyRule{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
				ContainerName: ptr.To("sidecar"), Operator: batchv1.PodFailurePolicyOnExitCodesOpNotIn},
				OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}},
		),
			`spec.podFailurePolicy.rules[0].action: Required value: valid values: ["Count" "FailIndex" "FailJob" "Ignore"]` + "\n" +
				`spec.podFailurePolicy.rules[0].onExitCodes.operator: Required value: valid values: ["In" "NotIn"]` + "\n" +
				`spec.podFailurePolicy.rules[0].onExitCodes.values[2]: Duplicate value: 1` + "\n" +
				`spec.podFailurePolicy.rules[0].onExitCodes.values: Invalid value: [3,1,1]: must be ordered` + "\n" +
				`spec.podFailurePolicy.rules[1].action: Unsupported value: "Retry": supported values: "Count", "FailIndex", "FailJob", "Ignore"` + "\n" +
				`spec.podFailurePolicy.rules[1].onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator` + "\n" +
				`spec.podFailurePolicy.rules[2].action: Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set` + "\n" +
				`spec.podFailurePolicy.rules[2].onPodConditions[0].type: Invalid value: "Disruption Target": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')` + "\n" +
				`spec.podFailurePolicy.rules[2].onPodConditions[0].status: Required value: valid values: ["False" "True" "Unknown"]` + "\n" +
				`spec.podFailurePolicy.rules[2].onPodConditions[1].status: Unsupported value: "Maybe": supported values: "False", "True", "Unknown"` + "\n" +
				`spec.podFailurePolicy.rules[3]: Invalid value: specifying one of OnExitCodes and OnPodConditions is required` + "\n" +
				`spec.podFailurePolicy.rules[4].onExitCodes.containerName: Invalid value: "sidecar": must be one of the container or initContainer names in the pod template` + "\n" +
				`spec.podFailurePolicy.rules[4].onExitCodes.values: Invalid value: null: at least one value is required` + "\n" +
				`spec.podFailurePolicy.rules[4]: Invalid value: specifying both OnExitCodes and OnPodConditions is not supported`},
		{"failure policy needs restart Never", all(failurePolicy(batchv1.PodFailurePolicyRule{Action: batchv1.PodFailurePolicyActionIgnore,
			OnExitCodes: onExit(batchv1.PodFailurePolicyOnExitCodesOpIn, 1)}), func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure }),
			`spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified`},
		{"success policy", all(indexed(5, 5), func(j *batchv1.Job) {
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("0,2-4"), SucceededCount: ptr.To[int32](3)}}}
		}), ""},
		{"success policy rules", all(indexed(5, 5), func(j *batchv1.Job) {
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{},
				{SucceededIndexes: ptr.To("0,2-4"), SucceededCount: ptr.To[int32](6)},
				{SucceededIndexes: ptr.To("3,1")}, {SucceededIndexes: ptr.To("1-2-3")}, {SucceededIndexes: ptr.To("5")}}}
		}),
			"spec.successPolicy.rules[0]: Required value: at least one of succeededCount or succeededIndexes must be specified\n" +
				"spec.successPolicy.rules[1].succeededCount: Invalid value: 6: must be less than or equal to 5 (the number of specified completions)\n" +
				"spec.successPolicy.rules[1].succeededCount: Invalid value: 6: must be less than or equal to 4 (the number of indexes in the specified succeededIndexes field)\n" +
				`spec.successPolicy.rules[2].succeededIndexes: Invalid value: "3,1": error parsing succeededIndexes: non-increasing order, previous: 3, current: 1` + "\n" +
				`spec.successPolicy.rules[3].succeededIndexes: Invalid value: "1-2-3": error parsing succeededIndexes: the fragment "1-2-3" violates the requirement that an index interval can have at most two parts separated by '-'` + "\n" +
				`spec.successPolicy.rules[4].succeededIndexes: Invalid value: "5": error parsing succeededIndexes: too large index: "5"`},
		{"success policy of a job not indexed", func(j *batchv1.Job) {
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededCount: ptr.To[int32](1)}}}
		}, "spec.successPolicy: Invalid value: {\"rules\":[{\"succeededCount\":1}]}: requires indexed completion mode"},
		{"empty success policy", all(indexed(2, 2), func(j *batchv1.Job) { j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{} }),
			"spec.successPolicy.rules: Required value: at least one rules must be specified when the successPolicy is specified"},
		{"selector not generated", func(j *batchv1.Job) {
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{batchv1.ControllerUidLabel: "other"}}
			j.Spec.Template.Labels = map[string]string{batchv1.ControllerUidLabel: "other"}
		},
			"spec.template.metadata.labels[batch.kubernetes.io/controller-uid]: Invalid value: {\"batch.kubernetes.io/controller-uid\":\"other\",\"batch.kubernetes.io/job-name\":\"pi\",\"controller-uid\":\"uid-1\",\"job-name\":\"pi\"}: must be 'uid-1'\n" +
				"spec.selector: Invalid value: {\"matchLabels\":{\"batch.kubernetes.io/controller-uid\":\"other\"}}: `selector` not auto-generated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := job(c.mut)
			jobHooks.PrepareCreate(j)
			if got := fieldtest.Lines(jobHooks.Validate(j, nil)); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// TestJobSchedulingDropped: spec.scheduling needs a feature kube 1.37 leaves
// off, so a create drops it, and an update keeps only what was stored.
func TestJobSchedulingDropped(t *testing.T) {
	j := job(func(j *batchv1.Job) { j.Spec.Scheduling = &batchv1.JobSchedulingConfiguration{} })
	jobHooks.PrepareCreate(j)
	if j.Spec.Scheduling != nil {
		t.Error("create kept spec.scheduling")
	}
	nj := j.DeepCopy()
	nj.Spec.Scheduling = &batchv1.JobSchedulingConfiguration{}
	jobHooks.PrepareUpdate(nj, j)
	if nj.Spec.Scheduling != nil {
		t.Error("update added spec.scheduling")
	}
}

// TestJobSpecUpdates: what an update may change of a job's spec.
func TestJobSpecUpdates(t *testing.T) {
	created := func(mut func(*batchv1.Job)) *batchv1.Job {
		j := job(mut)
		jobHooks.PrepareCreate(j)
		if errs := jobHooks.Validate(j, nil); len(errs) > 0 {
			t.Fatal(errs)
		}
		return j
	}
	suspended := func(j *batchv1.Job) { j.Spec.Suspend = ptr.To(true) }
	started := func(j *batchv1.Job) { j.Status.StartTime = &metav1.Time{Time: time.Unix(1e9, 0)} }
	cases := []struct {
		name   string
		stored func(*batchv1.Job)
		update func(*batchv1.Job)
		want   string
	}{
		{"indexed completions with parallelism", indexed(4, 4), func(j *batchv1.Job) { j.Spec.Completions, j.Spec.Parallelism = ptr.To[int32](6), ptr.To[int32](6) }, ""},
		{"indexed completions alone", indexed(4, 4), func(j *batchv1.Job) { j.Spec.Completions = ptr.To[int32](6) },
			"spec.completions: Invalid value: 6: can only be modified in tandem with spec.parallelism"},
		{"completions of a job not indexed", nil, func(j *batchv1.Job) { j.Spec.Completions = ptr.To[int32](2) },
			"spec.completions: Invalid value: 2: field is immutable"},
		{"managed by", nil, func(j *batchv1.Job) { j.Spec.ManagedBy = ptr.To("example.com/x") },
			`spec.managedBy: Invalid value: "example.com/x": field is immutable`},
		{"success policy", indexed(2, 2), func(j *batchv1.Job) {
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededCount: ptr.To[int32](1)}}}
		}, `spec.successPolicy: Invalid value: {"rules":[{"succeededCount":1}]}: field is immutable`},
		{"running job's tolerations", nil, func(j *batchv1.Job) {
			j.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists}}
		}, "spec.template: Invalid value"},
		{"suspended job's scheduling directives and resources", suspended, func(j *batchv1.Job) {
			j.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists}}
			j.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "a"}
			j.Spec.Template.Annotations = map[string]string{"a": "b"}
			j.Spec.Template.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
		}, ""},
		{"suspended job's image", suspended, func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Image = "perl:5.36" },
			"spec.template.spec: Invalid value"},
		{"suspended job that started", all(suspended, started), func(j *batchv1.Job) { j.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "a"} },
			"spec.template: Invalid value"},
		{"suspended again after it started", all(suspended, started, func(j *batchv1.Job) {
			j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobSuspended, Status: corev1.ConditionTrue}}
		}), func(j *batchv1.Job) { j.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "a"} }, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			old := created(c.stored)
			nj := old.DeepCopy()
			c.update(nj)
			jobHooks.PrepareUpdate(nj, old)
			got := fieldtest.Lines(jobHooks.Validate(nj, old))
			if !strings.HasPrefix(got, c.want) || c.want == "" && got != "" || strings.Contains(got, "\n") {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// TestCronJobUpdates: an update may keep what kube let a cron job have
// before: a long name, TZ in its schedule.
func TestCronJobUpdates(t *testing.T) {
	old := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: strings.Repeat("a", 60)}, Spec: batchv1.CronJobSpec{
		Schedule: "CRON_TZ=UTC 0 * * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: job(nil).Spec.Template}}}}
	cronJobHooks.PrepareCreate(old)
	if got := fieldtest.Paths(cronJobHooks.Validate(old, nil)); got != "metadata.name: Invalid value; spec.schedule: Invalid value" {
		t.Errorf("create: %q", got)
	}
	nc := old.DeepCopy()
	nc.Spec.Suspend = ptr.To(true)
	if errs := cronJobHooks.Validate(nc, old); len(errs) > 0 {
		t.Errorf("update of a stored cron job: %v", errs)
	}
	nc.Spec.TimeZone = ptr.To("Europe/Paris")
	if got := fieldtest.Lines(cronJobHooks.Validate(nc, old)); got != `spec.schedule: Invalid value: "CRON_TZ=UTC 0 * * * *": cannot use both timeZone field and TZ or CRON_TZ in schedule` {
		t.Errorf("TZ and a time zone: %s", got)
	}
	nc.Spec.Schedule, nc.Spec.TimeZone = "0 * * * *", ptr.To("Europe/Par is")
	if got := fieldtest.Lines(cronJobHooks.Validate(nc, old)); got != `spec.timeZone: Invalid value: "Europe/Par is": unknown time zone Europe/Par is` {
		t.Errorf("bad time zone: %s", got)
	}
}
