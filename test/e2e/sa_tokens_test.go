package e2e

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestLegacyTokenTrackingConfigMap: kapi publishes
// kube-system/kube-apiserver-legacy-service-account-token-tracking with
// "since" a date, as kube-apiserver does (kube-controller-manager's
// legacy token cleaner reads it), puts a date back when it is not one,
// and makes it again when deleted.
func TestLegacyTokenTrackingConfigMap(t *testing.T) {
	k := startKapi(t)
	ctx := context.Background()
	const name = "kube-apiserver-legacy-service-account-token-tracking"
	cms := k.client.CoreV1().ConfigMaps("kube-system")
	dated := func(not string) string {
		t.Helper()
		var since, uid string
		if err := waitUntil(90*time.Second, func() bool {
			cm, err := cms.Get(ctx, name, metav1.GetOptions{})
			if err != nil || string(cm.UID) == not {
				return false
			}
			since, uid = cm.Data["since"], string(cm.UID)
			_, err = time.Parse("2006-01-02", since)
			return err == nil
		}); err != nil {
			t.Fatalf("%s: since %q", name, since)
		}
		// Today in UTC, give or take the midnight the test may span.
		if d, _ := time.Parse("2006-01-02", since); time.Since(d) < 0 || time.Since(d) > 48*time.Hour {
			t.Errorf("since %s is not today (UTC)", since)
		}
		return uid
	}
	uid := dated("")

	cm, err := cms.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["since"] = "yesterday"
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := dated(""); got != uid {
		t.Errorf("the ConfigMap was replaced, not mended")
	}
	if err := cms.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	dated(uid)
}
