package admission

// PodGroupProtection is kube 1.37's plugin of that name, on by default:
// it guards the scheduling.k8s.io PodGroups of the GenericWorkload
// feature, which is off by default and whose API kapi does not serve.
// With the feature off kube's plugin does nothing, and so does this one:
// it takes part in neither phase. (Without it every start warned that a
// default plugin was not implemented.)
type PodGroupProtection struct{}
