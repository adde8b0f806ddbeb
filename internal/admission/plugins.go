package admission

import (
	"fmt"
	"slices"
)

// Ordered names kube-apiserver's admission plugins in the order they run
// (its AllOrderedPlugins): --enable-admission-plugins and
// --disable-admission-plugins choose among them, never change the order.
var Ordered = []string{
	"AlwaysAdmit",
	"NamespaceAutoProvision",
	"NamespaceLifecycle",
	"NamespaceExists",
	"LimitPodHardAntiAffinityTopology",
	"LimitRanger",
	"ServiceAccount",
	"NodeRestriction",
	"TaintNodesByCondition",
	"AlwaysPullImages",
	"ImagePolicyWebhook",
	"PodSecurity",
	"PodNodeSelector",
	"Priority",
	"DefaultTolerationSeconds",
	"PodTolerationRestriction",
	"EventRateLimit",
	"ExtendedResourceToleration",
	"DefaultStorageClass",
	"StorageObjectInUseProtection",
	"PodGroupProtection", // kube 1.37: a finalizer on PodGroups, which kapi does not serve (GenericWorkload is beta and off)
	"OwnerReferencesPermissionEnforcement",
	"PersistentVolumeClaimResize",
	"RuntimeClass",
	"CertificateApproval",
	"CertificateSigning",
	"ClusterTrustBundleAttest",
	"CertificateSubjectRestriction",
	"DefaultIngressClass",
	"DenyServiceExternalIPs",
	"PodTopologyLabels",
	"NodeDeclaredFeatureValidator",
	"PodResizeValidator",
	"MutatingAdmissionPolicy",
	"MutatingAdmissionWebhook",
	"ValidatingAdmissionPolicy",
	"ValidatingAdmissionWebhook",
	"ResourceQuota",
	"AlwaysDeny",
}

// DefaultOn are the plugins kube-apiserver runs when no flag says
// otherwise.
var DefaultOn = []string{
	"NamespaceLifecycle", "LimitRanger", "ServiceAccount", "DefaultStorageClass", "PersistentVolumeClaimResize",
	"DefaultTolerationSeconds", "MutatingAdmissionWebhook", "ValidatingAdmissionWebhook", "ResourceQuota",
	"StorageObjectInUseProtection", "PodGroupProtection", "Priority", "TaintNodesByCondition", "RuntimeClass", "CertificateApproval",
	"CertificateSigning", "ClusterTrustBundleAttest", "CertificateSubjectRestriction", "DefaultIngressClass",
	"PodSecurity", "PodTopologyLabels", "MutatingAdmissionPolicy", "ValidatingAdmissionPolicy",
	"NodeDeclaredFeatureValidator", "PodResizeValidator",
}

// Enabled is the plugins to run, in order: the defaults, with enable
// added and disable taken away, as kube-apiserver reads its two flags (a
// name in both is enabled). An unknown name is an error naming the flag.
func Enabled(enable, disable []string) ([]string, error) {
	for _, f := range []struct {
		flag  string
		names []string
	}{{"enable-admission-plugins", enable}, {"disable-admission-plugins", disable}} {
		for _, n := range f.names {
			if !slices.Contains(Ordered, n) {
				return nil, fmt.Errorf("%s plugin %q is unknown", f.flag, n)
			}
		}
	}
	var out []string
	for _, n := range Ordered {
		on := slices.Contains(DefaultOn, n) && !slices.Contains(disable, n)
		if on || slices.Contains(enable, n) {
			out = append(out, n)
		}
	}
	return out, nil
}
