// Package batch holds the rows of the batch group, v1: jobs and cron jobs.
package batch

import (
	"kapi/internal/registry"
)

// Resources returns the batch/v1 rows; both are in the "all" category and
// count generations.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		{Group: "batch", Version: "v1", Name: "cronjobs", Kind: "CronJob", Namespaced: true,
			ShortNames: []string{"cj"}, Categories: []string{"all"}, Subresources: []*registry.Subresource{registry.Status},
			Generation: true, Hooks: cronJobHooks, Table: cronJobTable},
		{Group: "batch", Version: "v1", Name: "jobs", Kind: "Job", Namespaced: true,
			Categories: []string{"all"}, Subresources: []*registry.Subresource{registry.Status}, Generation: true, Hooks: jobHooks, Fields: jobFields,
			Table: jobTable},
	}
}
