package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestPatchErrors: a patch that does not apply is answered as
// kube-apiserver answers it: a JSON patch's failed test or missing path
// is 422 in kube's general words (which drop the reason), an unknown
// $patch directive 500 with the merge's words.
func TestPatchErrors(t *testing.T) {
	t.Parallel()
	k := startKapi(t, withoutLoops(rootCAPublisher))
	ctx := context.Background()
	cms := k.client.CoreV1().ConfigMaps("default")
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, patch := range []string{`[{"op":"test","path":"/data/a","value":"2"}]`, `[{"op":"remove","path":"/data/b"}]`} {
		_, err := cms.Patch(ctx, "p", types.JSONPatchType, []byte(patch), metav1.PatchOptions{})
		se, ok := err.(*apierrors.StatusError)
		if !apierrors.IsInvalid(err) || !ok || se.ErrStatus.Code != http.StatusUnprocessableEntity ||
			se.ErrStatus.Message != "the server rejected our request due to an error in our request" {
			t.Errorf("%s: %v", patch, err)
		}
	}
	_, err := cms.Patch(ctx, "p", types.StrategicMergePatchType, []byte(`{"data":{"$patch":"sideways"}}`), metav1.PatchOptions{})
	if se, ok := err.(*apierrors.StatusError); !ok || se.ErrStatus.Code != http.StatusInternalServerError || se.ErrStatus.Reason != "" ||
		!strings.Contains(se.ErrStatus.Message, "sideways") {
		t.Errorf("an unknown $patch: %v", err)
	}
	if got, _ := cms.Get(ctx, "p", metav1.GetOptions{}); got.Data["a"] != "1" || len(got.Data) != 1 {
		t.Errorf("the config map after the failed patches: %v", got.Data)
	}
}
