package admission

// What a node may ask of credentials: tokens for the service accounts
// of its own pods, for the audiences they use, and certificates for its
// own pods (NodeRestriction's token and podcertificaterequests checks).

import (
	"context"
	"fmt"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"

	"kapi/internal/authz"
)

func (p *NodeRestriction) token(ctx context.Context, name string, a *Attributes) error {
	if a.Operation != Create || a.Subresource != "token" {
		return nil
	}
	tr, ok := a.Object.(*authenticationv1.TokenRequest)
	if !ok {
		return nodeForbidden(a, fmt.Errorf("unexpected type %T", a.Object))
	}
	ref := tr.Spec.BoundObjectRef
	if ref == nil || ref.APIVersion != "v1" || ref.Kind != "Pod" || ref.Name == "" {
		return nodeForbidden(a, fmt.Errorf("node requested token not bound to a pod"))
	}
	if ref.UID == "" {
		return nodeForbidden(a, fmt.Errorf("node requested token with a pod binding without a uid"))
	}
	obj, err := p.Pods.Get(ctx, a.Namespace, ref.Name)
	if apierrors.IsNotFound(err) {
		return err
	}
	if err != nil {
		return nodeForbidden(a, err)
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok || ref.UID != pod.UID {
		return nodeForbidden(a, fmt.Errorf("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.UID))
	}
	if pod.Spec.NodeName != name {
		return nodeForbidden(a, fmt.Errorf("node requested token bound to a pod scheduled on a different node"))
	}
	if err := p.audience(ctx, tr, pod, a); err != nil {
		return nodeForbidden(a, err)
	}
	return nil
}

// audience: a node asks a token for an audience its pod uses (a projected
// token's, or one a CSI driver of its volumes asks for), or one it is
// authorized for (kube's ServiceAccountNodeAudienceRestriction, on).
func (p *NodeRestriction) audience(ctx context.Context, tr *authenticationv1.TokenRequest, pod *corev1.Pod, a *Attributes) error {
	aud := ""
	switch len(tr.Spec.Audiences) {
	case 0:
	case 1:
		aud = tr.Spec.Audiences[0]
	default:
		return fmt.Errorf("node may only request 0 or 1 audiences")
	}
	found, err := p.podUsesAudience(ctx, pod, aud)
	if err != nil {
		return fmt.Errorf("error validating audience %q: %w", aud, err)
	}
	if found {
		return nil
	}
	d, _, err := p.Authorizer.Authorize(ctx, authz.Attributes{User: a.User, Verb: "request-serviceaccounts-token-audience",
		APIVersion: "v1", Resource: aud, Namespace: a.Namespace, Name: a.Name, ResourceRequest: true})
	if d == authz.Allow {
		return nil
	}
	if err != nil {
		return fmt.Errorf("error authorizing %s to request tokens for audience %q: %w", a.User.Name, aud, err)
	}
	return fmt.Errorf("%s is not authorized to request tokens for audience %q", a.User.Name, aud)
}

func (p *NodeRestriction) podUsesAudience(ctx context.Context, pod *corev1.Pod, aud string) (bool, error) {
	var errs []error
	for _, v := range pod.Spec.Volumes {
		if v.Projected != nil {
			for _, src := range v.Projected.Sources {
				if src.ServiceAccountToken != nil && src.ServiceAccountToken.Audience == aud {
					return true, nil
				}
			}
		}
		var driver string
		var err error
		switch {
		case v.Ephemeral != nil && v.Ephemeral.VolumeClaimTemplate != nil:
			driver, err = p.claimDriver(ctx, pod.Namespace, pod.Name+"-"+v.Name)
		case v.PersistentVolumeClaim != nil:
			driver, err = p.claimDriver(ctx, pod.Namespace, v.PersistentVolumeClaim.ClaimName)
		case v.CSI != nil:
			driver = v.CSI.Driver
		}
		if err == nil && driver != "" {
			var obj runtime.Object
			if obj, err = p.CSIDrivers.Get(ctx, "", driver); err == nil {
				if d, ok := obj.(*storagev1.CSIDriver); ok {
					for _, r := range d.Spec.TokenRequests {
						if r.Audience == aud {
							return true, nil
						}
					}
				}
			}
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return false, utilerrors.NewAggregate(errs)
}

// claimDriver is the CSI driver of the volume bound to a claim.
func (p *NodeRestriction) claimDriver(ctx context.Context, ns, claim string) (string, error) {
	obj, err := p.Claims.Get(ctx, ns, claim)
	if err != nil {
		return "", err
	}
	pvc, ok := obj.(*corev1.PersistentVolumeClaim)
	if !ok || pvc.Spec.VolumeName == "" {
		return "", fmt.Errorf("PVC %s/%s is not bound", ns, claim)
	}
	if obj, err = p.Volumes.Get(ctx, "", pvc.Spec.VolumeName); err != nil {
		return "", err
	}
	if pv, ok := obj.(*corev1.PersistentVolume); ok && pv.Spec.CSI != nil {
		return pv.Spec.CSI.Driver, nil
	}
	return "", nil
}

// podCertificateRequest: a node asks certificates only for the pods bound
// to it, naming them, itself and their service accounts as they are, for
// a signer the pod mounts a podCertificate volume of (or one the node is
// authorized for); never for mirror pods.
func (p *NodeRestriction) podCertificateRequest(ctx context.Context, name string, a *Attributes) error {
	if a.Operation != Create {
		return nodeForbidden(a, fmt.Errorf("unexpected operation %v", a.Operation))
	}
	if a.Subresource != "" {
		return nodeForbidden(a, fmt.Errorf("unexpected subresource %v", a.Subresource))
	}
	req, ok := a.Object.(*certificatesv1.PodCertificateRequest)
	if !ok {
		return nodeForbidden(a, fmt.Errorf("unexpected type %T", a.Object))
	}
	ns, spec := a.Namespace, &req.Spec
	podKey := ns + "/" + spec.PodName
	if string(spec.NodeName) != name {
		return nodeForbidden(a, fmt.Errorf("PodCertificateRequest.Spec.NodeName=%q, which is not the requesting node %q", spec.NodeName, name))
	}
	obj, err := namedObject(ctx, a, p.Nodes, "", name, "node", name)
	if err != nil {
		return err
	}
	if n, ok := obj.(*corev1.Node); ok && n.UID != spec.NodeUID {
		return fmt.Errorf("PodCertificateRequest for pod %q names node UID %q, inconsistent with the running node (%q)", podKey, spec.NodeUID, n.UID)
	}
	obj, err = namedObject(ctx, a, p.Pods, ns, spec.PodName, "pod", podKey)
	if err != nil {
		return err
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nodeForbidden(a, fmt.Errorf("unexpected type %T", obj))
	}
	if spec.PodUID != pod.UID {
		return fmt.Errorf("PodCertificateRequest for pod %q contains pod UID (%q) which differs from running pod %q", podKey, spec.PodUID, string(pod.UID))
	}
	if pod.Spec.NodeName != string(spec.NodeName) {
		return nodeForbidden(a, fmt.Errorf("pod %q is not running on node %q named in the PodCertificateRequest", podKey, spec.NodeName))
	}
	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return nodeForbidden(a, fmt.Errorf("pod %q is a mirror pod", podKey))
	}
	if spec.ServiceAccountName != pod.Spec.ServiceAccountName {
		return nodeForbidden(a, fmt.Errorf("PodCertificateRequest for pod %q contains serviceAccountName (%q) that differs from running pod (%q)", podKey, spec.ServiceAccountName, pod.Spec.ServiceAccountName))
	}
	saKey := ns + "/" + spec.ServiceAccountName
	obj, err = namedObject(ctx, a, p.ServiceAccounts, ns, spec.ServiceAccountName, "service account", saKey)
	if err != nil {
		return err
	}
	if sa, ok := obj.(*corev1.ServiceAccount); ok && sa.UID != spec.ServiceAccountUID {
		return fmt.Errorf("PodCertificateRequest for pod %q names service account UID %q, which differs from the running service account (%q)", podKey, spec.ServiceAccountUID, sa.UID)
	}
	for _, v := range pod.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, src := range v.Projected.Sources {
			if src.PodCertificate != nil && src.PodCertificate.SignerName == spec.SignerName {
				return nil
			}
		}
	}
	d, _, err := p.Authorizer.Authorize(ctx, authz.Attributes{User: a.User, Verb: "request-serviceaccounts-podcertificate-signer",
		APIGroup: a.Resource.Group, APIVersion: a.Resource.Version, Resource: strings.ReplaceAll(spec.SignerName, "/", ":"),
		Namespace: ns, Name: spec.ServiceAccountName, ResourceRequest: true})
	switch {
	case d == authz.Allow:
		return nil
	case err != nil:
		return nodeForbidden(a, fmt.Errorf("error authorizing %s to request podcertificaterequests for signer %q: %w", a.User.Name, spec.SignerName, err))
	}
	return nodeForbidden(a, fmt.Errorf("pod %q does not mount a podCertificate projected volume for signer %q", podKey, spec.SignerName))
}

// namedObject reads an object a PodCertificateRequest names (key is how
// the messages name it), as kube's plugin: one that does not exist is a
// plain error, any other failure to read it a Forbidden.
func namedObject(ctx context.Context, a *Attributes, objs Objects, ns, name, what, key string) (runtime.Object, error) {
	obj, err := objs.Get(ctx, ns, name)
	if err == nil {
		return obj, nil
	}
	err = fmt.Errorf("while retrieving %s %q named in the PodCertificateRequest: %w", what, key, err)
	if apierrors.IsNotFound(err) {
		return nil, err
	}
	return nil, nodeForbidden(a, err)
}
