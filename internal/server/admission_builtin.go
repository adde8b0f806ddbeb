package server

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/version"

	"kapi/internal/admission"
	"kapi/internal/authz"
	"kapi/internal/registry"
	"kapi/internal/router"
	"kapi/internal/storage"
)

// builtinPlugins makes kube-apiserver's built-in admission plugins that
// kapi implements, by plugin name; each reads what it needs from the
// catalogue's stores when it runs (the catalogue changes at runtime).
// conf are the plugins' configurations of --admission-control-config-file
// (PodSecurity's defaults and exemptions).
func builtinPlugins(cat *registry.Catalogue, authorizer authz.Authorizer, conf map[string][]byte) (map[string]func() any, error) {
	objs := func(group, version, resource string) admission.Objects {
		return catalogueObjects{cat: cat, gvr: schema.GroupVersionResource{Group: group, Version: version, Resource: resource}}
	}
	// PodSecurity's configuration: kube's default (privileged at the
	// latest version, nothing exempt) unless the file gives one.
	podSecurity, err := admission.PodSecurityConfiguration(conf["PodSecurity"])
	if err != nil {
		return nil, fmt.Errorf("configuration of admission plugin PodSecurity: %w", err)
	}
	if _, err := admission.NewPodSecurity(podSecurity, objs("", "v1", "namespaces"), objs("", "v1", "pods")); err != nil {
		return nil, fmt.Errorf("configuration of admission plugin PodSecurity: %w", err)
	}
	tolerations, err := admission.NewPodTolerationRestriction(objs("", "v1", "namespaces"), conf["PodTolerationRestriction"])
	if err != nil {
		return nil, fmt.Errorf("configuration of admission plugin PodTolerationRestriction: %w", err)
	}
	return map[string]func() any{
		"ServiceAccount": func() any {
			return &admission.ServiceAccount{ServiceAccounts: objs("", "v1", "serviceaccounts")}
		},
		"Priority": func() any {
			return &admission.Priority{PriorityClasses: objs("scheduling.k8s.io", "v1", "priorityclasses")}
		},
		"DefaultTolerationSeconds": func() any { return admission.DefaultTolerations{} },
		"TaintNodesByCondition":    func() any { return admission.TaintNodesByCondition{} },
		"NodeRestriction": func() any {
			return &admission.NodeRestriction{Pods: objs("", "v1", "pods"), Nodes: objs("", "v1", "nodes"),
				ServiceAccounts: objs("", "v1", "serviceaccounts"), Claims: objs("", "v1", "persistentvolumeclaims"),
				Volumes: objs("", "v1", "persistentvolumes"), CSIDrivers: objs("storage.k8s.io", "v1", "csidrivers"), Authorizer: authorizer}
		},
		"DefaultStorageClass": func() any {
			return &admission.DefaultStorageClass{StorageClasses: objs("storage.k8s.io", "v1", "storageclasses")}
		},
		"StorageObjectInUseProtection": func() any { return admission.StorageObjectInUseProtection{} },
		"PodGroupProtection":           func() any { return admission.PodGroupProtection{} },
		"PersistentVolumeClaimResize": func() any {
			return &admission.PersistentVolumeClaimResize{StorageClasses: objs("storage.k8s.io", "v1", "storageclasses")}
		},
		"RuntimeClass": func() any {
			return &admission.RuntimeClass{RuntimeClasses: objs("node.k8s.io", "v1", "runtimeclasses")}
		},
		"CertificateApproval":           func() any { return admission.CertificateApproval{Authorizer: authorizer} },
		"CertificateSigning":            func() any { return admission.CertificateSigning{Authorizer: authorizer} },
		"CertificateSubjectRestriction": func() any { return admission.CertificateSubjectRestriction{} },
		"ClusterTrustBundleAttest":      func() any { return admission.ClusterTrustBundleAttest{Authorizer: authorizer} },
		"DefaultIngressClass": func() any {
			return &admission.DefaultIngressClass{IngressClasses: objs("networking.k8s.io", "v1", "ingressclasses")}
		},
		"PodTopologyLabels":  func() any { return &admission.PodTopologyLabels{Nodes: objs("", "v1", "nodes")} },
		"PodResizeValidator": func() any { return &admission.PodResizeValidator{Nodes: objs("", "v1", "nodes")} },
		"NodeDeclaredFeatureValidator": func() any {
			return &admission.NodeDeclaredFeatureValidator{Nodes: objs("", "v1", "nodes"),
				Version: version.MustParseGeneric(router.Version.GitVersion)}
		},
		"PodSecurity": func() any {
			// Checked above: it cannot fail here.
			p, _ := admission.NewPodSecurity(podSecurity, objs("", "v1", "namespaces"), objs("", "v1", "pods"))
			return p
		},
		// Off unless named.
		"AlwaysAdmit":                      func() any { return admission.NewAlwaysAdmit() },
		"AlwaysDeny":                       func() any { return admission.NewAlwaysDeny() },
		"AlwaysPullImages":                 func() any { return admission.AlwaysPullImages{} },
		"DenyServiceExternalIPs":           func() any { return admission.DenyServiceExternalIPs{} },
		"LimitPodHardAntiAffinityTopology": func() any { return admission.LimitPodHardAntiAffinityTopology{} },
		"ExtendedResourceToleration":       func() any { return admission.ExtendedResourceToleration{} },
		"NamespaceExists":                  func() any { return admission.NamespaceExists{Namespaces: objs("", "v1", "namespaces")} },
		"PodTolerationRestriction":         func() any { return tolerations },
		"OwnerReferencesPermissionEnforcement": func() any {
			return admission.OwnerReferencesPermissionEnforcement{Authorizer: authorizer, Catalogue: cat}
		},
		"PodNodeSelector": func() any {
			return admission.NewPodNodeSelector(objs("", "v1", "namespaces"), conf["PodNodeSelector"])
		},
	}, nil
}

// catalogueObjects reads one resource's objects for admission from its
// store in the catalogue's current snapshot, from the watch cache as it
// is (resourceVersion "0"), as kube-apiserver's plugins read their
// informers; a Get the cache cannot answer is asked of etcd, as kube's
// plugins make a live lookup before they refuse. The objects are the
// cache's own: plugins only read them.
type catalogueObjects struct {
	cat *registry.Catalogue
	gvr schema.GroupVersionResource
}

func (c catalogueObjects) store() *registry.Store { return c.cat.Snapshot().Store(c.gvr) }

// Get implements admission.Objects.
func (c catalogueObjects) Get(ctx context.Context, ns, name string) (runtime.Object, error) {
	st := c.store()
	if st == nil {
		return nil, apierrors.NewNotFound(c.gvr.GroupResource(), name)
	}
	obj, err := st.GetShared(ctx, ns, name, &metav1.GetOptions{ResourceVersion: "0"})
	if err == nil {
		return storage.Unwrap(obj), nil
	}
	if apierrors.IsNotFound(err) {
		obj, err = st.Get(ctx, ns, name, nil)
	}
	return obj, err
}

// List implements admission.Objects.
func (c catalogueObjects) List(ctx context.Context, ns string) ([]runtime.Object, error) {
	st := c.store()
	if st == nil {
		return nil, nil
	}
	l, err := st.ListShared(ctx, ns, &metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return nil, err
	}
	out := make([]runtime.Object, len(l.Items))
	for i, it := range l.Items {
		out[i] = storage.Unwrap(it)
	}
	return out, nil
}
