package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/natefinch/lumberjack.v2"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/client-go/util/flowcontrol"
)

// Log formats, as kube-apiserver's --audit-log-format.
const (
	FormatJSON   = "json"   // one audit.k8s.io/v1 Event in JSON per line
	FormatLegacy = "legacy" // one line of text per event
)

// newLogSink opens the audit log: "-" is stdout; otherwise the file, made
// if missing (mode 0600), rotated by lumberjack when maxSize (MB) is set.
func newLogSink(o Options) (*batcher, error) {
	var w io.Writer = os.Stdout
	var closeFn func() error
	if o.LogPath != "-" {
		if err := os.MkdirAll(filepath.Dir(o.LogPath), 0o700); err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		f, err := os.OpenFile(o.LogPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		w, closeFn = f, f.Close
		if o.LogMaxSize > 0 {
			f.Close()
			lj := &lumberjack.Logger{
				Filename:   o.LogPath,
				MaxAge:     o.LogMaxAge,
				MaxBackups: o.LogMaxBackups,
				MaxSize:    o.LogMaxSize,
				Compress:   o.LogCompress,
			}
			w, closeFn = lj, lj.Close
		}
	}
	// Each event is one write, so that lumberjack rotates between events.
	write := func(_ context.Context, events []*auditv1.Event) error {
		var buf bytes.Buffer
		failed := 0
		var lastErr error
		for _, ev := range events {
			buf.Reset()
			err := encodeLine(&buf, o.LogFormat, ev)
			if err == nil {
				_, err = w.Write(buf.Bytes())
			}
			if err != nil {
				failed++
				lastErr = err
			}
		}
		if failed > 0 {
			return &partialError{failed: failed, err: lastErr}
		}
		return nil
	}
	// In batch mode, kube's batches: one event by default (batching does
	// not help a file, kube says), each written in the batcher's
	// goroutine.
	cfg := batchConfig{bufferSize: o.LogBatchBufferSize, maxSize: o.LogBatchMaxSize, maxWait: o.LogBatchMaxWait, mode: o.LogMode}
	if o.LogBatchThrottleEnable {
		cfg.throttle = flowcontrol.NewTokenBucketRateLimiter(o.LogBatchThrottleQPS, o.LogBatchThrottleBurst)
	}
	return newBatcher("log", cfg, o.LogTruncate.wrap(write), closeFn), nil
}

func encodeLine(buf *bytes.Buffer, format string, ev *auditv1.Event) error {
	if format == FormatLegacy {
		buf.WriteString(eventString(ev))
		buf.WriteByte('\n')
		return nil
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	buf.Write(b)
	buf.WriteByte('\n')
	return nil
}

// eventString is kube-apiserver's one-line text form of an event.
func eventString(ev *auditv1.Event) string {
	username, groups := "<none>", "<none>"
	if ev.User.Username != "" {
		username = ev.User.Username
		if len(ev.User.Groups) > 0 {
			groups = quoteAll(ev.User.Groups)
		}
	}
	asuser, asgroups := "<self>", "<lookup>"
	if ev.ImpersonatedUser != nil {
		asuser = ev.ImpersonatedUser.Username
		if ev.ImpersonatedUser.Groups != nil {
			asgroups = quoteAll(ev.ImpersonatedUser.Groups)
		}
	}
	namespace := "<none>"
	if ev.ObjectRef != nil && ev.ObjectRef.Namespace != "" {
		namespace = ev.ObjectRef.Namespace
	}
	response := "<deferred>"
	if ev.ResponseStatus != nil {
		response = strconv.Itoa(int(ev.ResponseStatus.Code))
	}
	ip := "<unknown>"
	if len(ev.SourceIPs) > 0 {
		ip = ev.SourceIPs[0]
	}
	return fmt.Sprintf("%s AUDIT: id=%q stage=%q ip=%q method=%q user=%q groups=%q as=%q asgroups=%q user-agent=%q namespace=%q uri=%q response=\"%s\"",
		ev.RequestReceivedTimestamp.Format(time.RFC3339Nano), ev.AuditID, ev.Stage, ip, ev.Verb, username, groups, asuser, asgroups, ev.UserAgent, namespace, ev.RequestURI, response)
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ",")
}
