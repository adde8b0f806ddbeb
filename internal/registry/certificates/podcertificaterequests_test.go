package certificates

import (
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
)

// TestPodCertificateRequestDefault: the declarative +default=86400 of
// spec.maxExpirationSeconds, on create and on every write.
func TestPodCertificateRequestDefault(t *testing.T) {
	pcr := &certificatesv1.PodCertificateRequest{}
	podCertificateRequestHooks.PrepareCreate(pcr)
	if m := pcr.Spec.MaxExpirationSeconds; m == nil || *m != 86400 {
		t.Errorf("maxExpirationSeconds %v, want 86400", m)
	}
	given := int32(3600)
	pcr.Spec.MaxExpirationSeconds = &given
	podCertificateRequestHooks.PrepareUpdate(pcr, pcr.DeepCopy())
	if *pcr.Spec.MaxExpirationSeconds != 3600 {
		t.Errorf("a given maxExpirationSeconds changed to %d", *pcr.Spec.MaxExpirationSeconds)
	}
}
