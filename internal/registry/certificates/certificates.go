// Package certificates holds the rows of certificates.k8s.io, v1.
package certificates

import (
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"

	"kapi/internal/registry"
)

const group = "certificates.k8s.io"

// Resources returns the certificates.k8s.io/v1 rows: signing requests,
// and the trust bundles and pod certificate requests that 1.37 serves in
// v1. kube-apiserver does not care what a CSR is called (its name only
// has to be a path segment); a trust bundle's name is tied to its signer
// ("example.com:signer:abc"), which the type's own validation checks.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		{Group: group, Version: "v1", Name: "certificatesigningrequests", Kind: "CertificateSigningRequest",
			ShortNames: []string{"csr"}, Subresources: []*registry.Subresource{csrStatus, csrApproval}, Names: registry.PathSegment,
			Fields: csrFields, Table: csrTable, Hooks: csrHooks},
		{Group: group, Version: "v1", Name: "clustertrustbundles", Kind: "ClusterTrustBundle",
			Names: registry.PathSegment, Fields: clusterTrustBundleFields, Table: clusterTrustBundleTable, Hooks: clusterTrustBundleHooks},
		{Group: group, Version: "v1", Name: "podcertificaterequests", Kind: "PodCertificateRequest", Namespaced: true,
			Fields: podCertificateRequestFields, Subresources: []*registry.Subresource{pcrStatus}, Hooks: podCertificateRequestHooks},
	}
}

var csrDocs = certificatesv1.CertificateSigningRequestSpec{}.SwaggerDoc()

// csrTable: NAME AGE SIGNERNAME REQUESTOR REQUESTEDDURATION CONDITION.
var csrTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		registry.AgeColumn,
		{Name: "SignerName", Type: "string", Description: csrDocs["signerName"]},
		{Name: "Requestor", Type: "string", Description: csrDocs["request"]},
		{Name: "RequestedDuration", Type: "string", Description: csrDocs["expirationSeconds"]},
		{Name: "Condition", Type: "string", Description: certificatesv1.CertificateSigningRequestStatus{}.SwaggerDoc()["conditions"]},
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		csr := obj.(*certificatesv1.CertificateSigningRequest)
		requested := "<none>"
		if s := csr.Spec.ExpirationSeconds; s != nil {
			requested = duration.HumanDuration(time.Duration(*s) * time.Second)
		}
		return []interface{}{registry.Age(csr, now), registry.OrNone(csr.Spec.SignerName), csr.Spec.Username,
			requested, csrCondition(csr)}
	},
}

// csrCondition is Denied, Approved or Pending, then ",Failed" and
// ",Issued" as they apply.
func csrCondition(csr *certificatesv1.CertificateSigningRequest) string {
	var approved, denied, failed bool
	for _, c := range csr.Status.Conditions {
		switch c.Type {
		case certificatesv1.CertificateApproved:
			approved = true
		case certificatesv1.CertificateDenied:
			denied = true
		case certificatesv1.CertificateFailed:
			failed = true
		}
	}
	status := "Pending"
	switch {
	case denied:
		status = "Denied"
	case approved:
		status = "Approved"
	}
	if failed {
		status += ",Failed"
	}
	if len(csr.Status.Certificate) > 0 {
		status += ",Issued"
	}
	return status
}

// clusterTrustBundleTable: NAME SIGNERNAME, without an age.
var clusterTrustBundleTable = &registry.TableDef{
	Columns: []metav1.TableColumnDefinition{
		{Name: "SignerName", Type: "string", Description: certificatesv1.ClusterTrustBundleSpec{}.SwaggerDoc()["signerName"]},
	},
	Row: func(obj runtime.Object, now time.Time) []interface{} {
		return []interface{}{registry.OrNone(obj.(*certificatesv1.ClusterTrustBundle).Spec.SignerName)}
	},
}

// csrFields: signing requests select on spec.signerName, as in
// kube-apiserver.
func csrFields(obj runtime.Object) map[string]string {
	return map[string]string{"spec.signerName": obj.(*certificatesv1.CertificateSigningRequest).Spec.SignerName}
}

// clusterTrustBundleFields: trust bundles select on spec.signerName, as in
// kube-apiserver (kube-controller-manager's publisher lists its signer's).
func clusterTrustBundleFields(obj runtime.Object) map[string]string {
	return map[string]string{"spec.signerName": obj.(*certificatesv1.ClusterTrustBundle).Spec.SignerName}
}

// podCertificateRequestHooks: kube's one default of a pod certificate
// request (the declarative +default=86400 on spec.maxExpirationSeconds):
// at most a day's certificates unless it says otherwise; and kube's
// validation (podcertificaterequests.go).
var podCertificateRequestHooks = &registry.Hooks{
	Default:  func(obj runtime.Object) { defaultPodCertificateRequest(obj.(*certificatesv1.PodCertificateRequest)) },
	Validate: validatePCR,
}

func defaultPodCertificateRequest(pcr *certificatesv1.PodCertificateRequest) {
	if pcr.Spec.MaxExpirationSeconds == nil {
		day := int32(86400)
		pcr.Spec.MaxExpirationSeconds = &day
	}
}

// podCertificateRequestFields: kube-apiserver's selectable fields of a pod
// certificate request.
func podCertificateRequestFields(obj runtime.Object) map[string]string {
	spec := obj.(*certificatesv1.PodCertificateRequest).Spec
	return map[string]string{"spec.signerName": spec.SignerName, "spec.podName": spec.PodName, "spec.nodeName": string(spec.NodeName)}
}
