package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"

	"kapi/internal/registry/core"
	"kapi/internal/router"
)

// kubeComponentHealthz are the components kube-apiserver's
// componentstatuses checks besides etcd, at their default secure ports.
var kubeComponentHealthz = map[string]string{
	"scheduler":          "https://127.0.0.1:10259/healthz",
	"controller-manager": "https://127.0.0.1:10257/healthz",
}

// controlPlaneComponents are what componentstatuses reports on, as kube:
// the scheduler and the controller manager by their healthz (kapi's own
// loops are not a kube-controller-manager, so one is reported only when
// it runs beside kapi), and each etcd server of the client, etcd-0 first
// (the embedded one is etcd-0).
func controlPlaneComponents(cfg Config, client *clientv3.Client) []core.Component {
	healthz := cfg.ComponentHealthz
	if healthz == nil {
		healthz = kubeComponentHealthz
	}
	var out []core.Component
	for _, name := range slices.Sorted(maps.Keys(healthz)) {
		out = append(out, core.Component{Name: name, Check: httpProbe(healthz[name])})
	}
	eps := client.Endpoints()
	if len(eps) == 0 {
		eps = []string{""} // the embedded etcd, reached in process
	}
	for i, ep := range eps {
		out = append(out, core.Component{Name: fmt.Sprintf("etcd-%d", i), Check: func(ctx context.Context) (corev1.ConditionStatus, string, string) {
			var err error
			if ep == "" {
				err = etcdAnswers(ctx, client)
			} else {
				_, err = client.Status(ctx, ep)
			}
			if err != nil {
				return corev1.ConditionFalse, "", err.Error()
			}
			return corev1.ConditionTrue, "ok", ""
		}})
	}
	return out
}

// probeBodyLimit is the most of a healthz answer a probe reads (kube's
// 10 KiB).
const probeBodyLimit = 10 << 10

// probeClient is kube's HTTP prober: no certificate check (the
// components' serving certificates are their own), no kept connections.
var probeClient = &http.Client{Transport: &http.Transport{
	TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // as kube's componentstatus prober
	DisableKeepAlives: true,
}}

// httpProbe checks url as kube's HTTP probe does: healthy on a 2xx or
// 3xx with the body as the message; unhealthy with the reason as the
// message when it cannot be reached or answers otherwise; unknown, with
// the error, when the body cannot be read.
func httpProbe(url string) func(ctx context.Context) (corev1.ConditionStatus, string, string) {
	return func(ctx context.Context) (corev1.ConditionStatus, string, string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return corev1.ConditionUnknown, "", fmt.Sprintf("failed to construct probe request: %v", err)
		}
		req.Header.Set("User-Agent", "kube-probe/"+router.Version.Major+"."+router.Version.Minor)
		req.Header.Set("Accept", "*/*")
		resp, err := probeClient.Do(req)
		if err != nil {
			return corev1.ConditionFalse, err.Error(), ""
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, probeBodyLimit))
		if err != nil {
			return corev1.ConditionUnknown, "", err.Error()
		}
		if resp.StatusCode < http.StatusOK || resp.StatusCode >= http.StatusBadRequest {
			return corev1.ConditionFalse, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode), ""
		}
		return corev1.ConditionTrue, string(body), ""
	}
}
