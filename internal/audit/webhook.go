package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/flowcontrol"
)

// webhookTimeout bounds one POST, as kube-apiserver's webhooks.
const webhookTimeout = 30 * time.Second

// webhook POSTs batches of events, as an audit.k8s.io/v1 EventList in
// JSON, to the server of a kubeconfig file (its current context, with its
// credentials and CA).
type webhook struct {
	client  *http.Client
	url     string
	backoff time.Duration
}

func newWebhookSink(o Options) (*batcher, error) {
	kc, err := clientcmd.LoadFromFile(o.WebhookConfigFile)
	if err != nil {
		return nil, fmt.Errorf("--audit-webhook-config-file: %w", err)
	}
	rc, err := clientcmd.NewDefaultClientConfig(*kc, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("--audit-webhook-config-file %s: %w", o.WebhookConfigFile, err)
	}
	if rc.Timeout == 0 {
		rc.Timeout = webhookTimeout
	}
	hc, err := rest.HTTPClientFor(rc)
	if err != nil {
		return nil, fmt.Errorf("--audit-webhook-config-file %s: %w", o.WebhookConfigFile, err)
	}
	u, err := url.Parse(rc.Host)
	if err != nil || u.Host == "" {
		if u, err = url.Parse("https://" + rc.Host); err != nil {
			return nil, fmt.Errorf("--audit-webhook-config-file %s: server %q: %w", o.WebhookConfigFile, rc.Host, err)
		}
	}
	wh := &webhook{client: hc, url: u.String(), backoff: o.WebhookInitialBackoff}
	cfg := batchConfig{
		bufferSize: o.WebhookBatchBufferSize,
		maxSize:    o.WebhookBatchMaxSize,
		maxWait:    o.WebhookBatchMaxWait,
		async:      true,
		mode:       o.WebhookMode,
	}
	if o.WebhookBatchThrottleEnable {
		cfg.throttle = flowcontrol.NewTokenBucketRateLimiter(o.WebhookBatchThrottleQPS, o.WebhookBatchThrottleBurst)
	}
	return newBatcher("webhook", cfg, o.WebhookTruncate.wrap(wh.deliver), nil), nil
}

// deliver POSTs the batch, retrying on any failure with an exponential
// backoff (the initial backoff, then 1.5 times longer, five tries in all),
// as kube-apiserver: a receiver coming back soon loses nothing.
func (wh *webhook) deliver(ctx context.Context, events []*auditv1.Event) error {
	list := auditv1.EventList{
		TypeMeta: metav1.TypeMeta{Kind: "EventList", APIVersion: auditv1.SchemeGroupVersion.String()},
		Items:    make([]auditv1.Event, len(events)),
	}
	for i, ev := range events {
		list.Items[i] = *ev
	}
	body, err := json.Marshal(&list)
	if err != nil {
		return err
	}
	backoff := wait.Backoff{Duration: wh.backoff, Factor: 1.5, Jitter: 0.2, Steps: 5}
	for {
		err = wh.post(ctx, body)
		if err == nil || backoff.Steps <= 1 {
			return err
		}
		t := time.NewTimer(backoff.Step())
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
	}
}

func (wh *webhook) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, wh.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := wh.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("audit webhook %s: %s: %s", wh.url, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}
