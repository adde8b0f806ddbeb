// Package batch holds the rows of the batch group, v1: jobs and cron jobs.
package batch

import (
	"kapi/internal/registry"
)

// Resources returns the batch/v1 rows; both are in the "all" category and
// count generations. A v1 Job's dependents are orphaned by default, a
// CronJob's deleted (kube's DefaultGarbageCollectionPolicy for batch/v1).
func Resources() []*registry.Resource {
	return []*registry.Resource{
		{Group: "batch", Version: "v1", Name: "cronjobs", Kind: "CronJob", Namespaced: true,
			ShortNames: []string{"cj"}, Categories: []string{"all"}, Subresources: []*registry.Subresource{registry.Status},
			Generation: true, Hooks: cronJobHooks, Table: cronJobTable},
		{Group: "batch", Version: "v1", Name: "jobs", Kind: "Job", Namespaced: true,
			Categories: []string{"all"}, Subresources: []*registry.Subresource{jobStatusSubresource}, Generation: true, Hooks: jobHooks, Fields: jobFields,
			Table: jobTable, GarbageCollection: registry.GCOrphan, OrphanWarning: jobOrphanWarning},
	}
}

// jobOrphanWarning is kube's: a batch/v1 Job deleted with no propagation
// policy keeps its pods (its default policy, from before the garbage
// collector), and the client is told so.
const jobOrphanWarning = "child pods are preserved by default when jobs are deleted; " +
	"set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning"
