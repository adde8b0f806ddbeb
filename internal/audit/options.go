package audit

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// Options are the audit flags, named and defaulted as kube-apiserver's.
// A sink's mode is kube's: batch buffers events and delivers them apart
// from the request; blocking delivers each event as the request emits it,
// ignoring failures; blocking-strict also fails a request whose first
// event could not be delivered.
type Options struct {
	PolicyFile string // --audit-policy-file

	LogPath            string // --audit-log-path; "-" is stdout
	LogMaxAge          int    // --audit-log-maxage, days
	LogMaxBackups      int    // --audit-log-maxbackup
	LogMaxSize         int    // --audit-log-maxsize, MB; 0 does not rotate
	LogFormat          string // --audit-log-format: json or legacy
	LogCompress        bool   // --audit-log-compress
	LogBatchBufferSize int    // --audit-log-batch-buffer-size
	// The log's batches in batch mode, as the webhook's below (kube's
	// defaults: one event a batch, no wait, no throttle).
	LogBatchMaxSize        int           // --audit-log-batch-max-size
	LogBatchMaxWait        time.Duration // --audit-log-batch-max-wait
	LogBatchThrottleEnable bool          // --audit-log-batch-throttle-enable
	LogBatchThrottleQPS    float32       // --audit-log-batch-throttle-qps
	LogBatchThrottleBurst  int           // --audit-log-batch-throttle-burst
	LogTruncate            Truncate      // --audit-log-truncate-*
	LogVersion             string        // --audit-log-version: audit.k8s.io/v1, the only one
	LogMode                string        // --audit-log-mode: blocking (kube's default), batch, blocking-strict

	WebhookConfigFile          string        // --audit-webhook-config-file
	WebhookInitialBackoff      time.Duration // --audit-webhook-initial-backoff
	WebhookBatchBufferSize     int           // --audit-webhook-batch-buffer-size
	WebhookBatchMaxSize        int           // --audit-webhook-batch-max-size
	WebhookBatchMaxWait        time.Duration // --audit-webhook-batch-max-wait
	WebhookBatchThrottleEnable bool          // --audit-webhook-batch-throttle-enable
	WebhookBatchThrottleQPS    float32       // --audit-webhook-batch-throttle-qps
	WebhookBatchThrottleBurst  int           // --audit-webhook-batch-throttle-burst
	WebhookTruncate            Truncate      // --audit-webhook-truncate-*
	WebhookVersion             string        // --audit-webhook-version
	WebhookMode                string        // --audit-webhook-mode: batch (kube's default), blocking, blocking-strict
}

// The sinks' modes, as kube's.
const (
	ModeBatch          = "batch"
	ModeBlocking       = "blocking"
	ModeBlockingStrict = "blocking-strict"
)

// modes are the modes kube allows, in its order.
var modes = []string{ModeBatch, ModeBlocking, ModeBlockingStrict}

// DefaultOptions are kube-apiserver's defaults.
func DefaultOptions() Options {
	return Options{
		LogMaxAge:          366,
		LogMaxBackups:      100,
		LogMaxSize:         100,
		LogFormat:          FormatJSON,
		LogBatchBufferSize: 10000,
		LogBatchMaxSize:    1,
		LogTruncate:        DefaultTruncate,
		LogVersion:         auditv1.SchemeGroupVersion.String(),
		LogMode:            ModeBlocking,

		WebhookInitialBackoff:      10 * time.Second,
		WebhookBatchBufferSize:     10000,
		WebhookBatchMaxSize:        400,
		WebhookBatchMaxWait:        30 * time.Second,
		WebhookBatchThrottleEnable: true,
		WebhookBatchThrottleQPS:    10,
		WebhookBatchThrottleBurst:  15,
		WebhookTruncate:            DefaultTruncate,
		WebhookVersion:             auditv1.SchemeGroupVersion.String(),
		WebhookMode:                ModeBatch,
	}
}

// AddFlags adds the audit flags to fs, with o's values as defaults (start
// from DefaultOptions).
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.PolicyFile, "audit-policy-file", o.PolicyFile,
		"Path to the file that defines the audit policy configuration.")

	fs.StringVar(&o.LogPath, "audit-log-path", o.LogPath,
		"If set, all requests coming to the apiserver will be logged to this file.  '-' means standard out.")
	fs.IntVar(&o.LogMaxAge, "audit-log-maxage", o.LogMaxAge,
		"The maximum number of days to retain old audit log files based on the timestamp encoded in their filename. Setting a value of 0 means old audit log files are not removed based on age.")
	fs.IntVar(&o.LogMaxBackups, "audit-log-maxbackup", o.LogMaxBackups,
		"The maximum number of old audit log files to retain. Setting a value of 0 will mean there's no restriction on the number of files.")
	fs.IntVar(&o.LogMaxSize, "audit-log-maxsize", o.LogMaxSize,
		"The maximum size in megabytes of the audit log file before it gets rotated. Setting to 0 disables rotation (not recommended).")
	fs.StringVar(&o.LogFormat, "audit-log-format", o.LogFormat,
		`Format of saved audits. "legacy" indicates 1-line text format for each event. "json" indicates structured json format. Known formats are legacy,json.`)
	fs.BoolVar(&o.LogCompress, "audit-log-compress", o.LogCompress,
		"If set, the rotated log files will be compressed using gzip.")

	fs.StringVar(&o.WebhookConfigFile, "audit-webhook-config-file", o.WebhookConfigFile,
		"Path to a kubeconfig formatted file that defines the audit webhook configuration.")
	fs.DurationVar(&o.WebhookInitialBackoff, "audit-webhook-initial-backoff", o.WebhookInitialBackoff,
		"The amount of time to wait before retrying the first failed request.")
	for _, b := range o.batches() {
		fs.IntVar(b.bufferSize, "audit-"+b.sink+"-batch-buffer-size", *b.bufferSize,
			"The size of the buffer to store events before batching and writing. Only used in batch mode.")
		fs.IntVar(b.maxSize, "audit-"+b.sink+"-batch-max-size", *b.maxSize, "The maximum size of a batch. Only used in batch mode.")
		fs.DurationVar(b.maxWait, "audit-"+b.sink+"-batch-max-wait", *b.maxWait,
			"The amount of time to wait before force writing the batch that hadn't reached the max size. Only used in batch mode.")
		fs.BoolVar(b.throttleEnable, "audit-"+b.sink+"-batch-throttle-enable", *b.throttleEnable,
			"Whether batching throttling is enabled. Only used in batch mode.")
		fs.Float32Var(b.throttleQPS, "audit-"+b.sink+"-batch-throttle-qps", *b.throttleQPS,
			"Maximum average number of batches per second. Only used in batch mode.")
		fs.IntVar(b.throttleBurst, "audit-"+b.sink+"-batch-throttle-burst", *b.throttleBurst,
			"Maximum number of requests sent at the same moment if ThrottleQPS was not utilized before. Only used in batch mode.")
	}
	for _, t := range []struct {
		sink    string
		opts    *Truncate
		version *string
	}{{"log", &o.LogTruncate, &o.LogVersion}, {"webhook", &o.WebhookTruncate, &o.WebhookVersion}} {
		fs.BoolVar(&t.opts.Enabled, "audit-"+t.sink+"-truncate-enabled", t.opts.Enabled, "Whether event and batch truncating is enabled.")
		fs.Int64Var(&t.opts.MaxBatchSize, "audit-"+t.sink+"-truncate-max-batch-size", t.opts.MaxBatchSize,
			"Maximum size of the batch sent to the underlying backend. Actual serialized size can be several hundreds of bytes greater. If a batch exceeds this limit, it is split into several batches of smaller size.")
		fs.Int64Var(&t.opts.MaxEventSize, "audit-"+t.sink+"-truncate-max-event-size", t.opts.MaxEventSize,
			"Maximum size of the audit event sent to the underlying backend. If the size of an event is greater than this number, first request and response are removed, and if this doesn't reduce the size enough, event is discarded.")
		fs.StringVar(t.version, "audit-"+t.sink+"-version", *t.version, "API group and version used for serializing audit events written to "+t.sink+".")
	}
	for _, m := range []struct {
		sink string
		mode *string
	}{{"log", &o.LogMode}, {"webhook", &o.WebhookMode}} {
		fs.StringVar(m.mode, "audit-"+m.sink+"-mode", *m.mode, "Strategy for sending audit events. Blocking indicates sending events should block server responses. Batch causes the backend to buffer and write events asynchronously. Known modes are batch,blocking,blocking-strict.")
	}
}

// batchFlags are one sink's batch options, as kube's AuditBatchOptions.
type batchFlags struct {
	sink           string
	mode           *string
	bufferSize     *int
	maxSize        *int
	maxWait        *time.Duration
	throttleEnable *bool
	throttleQPS    *float32
	throttleBurst  *int
}

func (o *Options) batches() []batchFlags {
	return []batchFlags{
		{"log", &o.LogMode, &o.LogBatchBufferSize, &o.LogBatchMaxSize, &o.LogBatchMaxWait, &o.LogBatchThrottleEnable, &o.LogBatchThrottleQPS, &o.LogBatchThrottleBurst},
		{"webhook", &o.WebhookMode, &o.WebhookBatchBufferSize, &o.WebhookBatchMaxSize, &o.WebhookBatchMaxWait, &o.WebhookBatchThrottleEnable, &o.WebhookBatchThrottleQPS, &o.WebhookBatchThrottleBurst},
	}
}

// validate is kube's validateBackendBatchOptions: in batch mode, the
// buffer and the batches are at least one event, and a throttle has a
// rate and a burst.
func (b batchFlags) validate() error {
	if *b.mode != ModeBatch {
		return nil // as kube: the options are not used
	}
	switch {
	case *b.bufferSize <= 0:
		return fmt.Errorf("invalid audit batch %s buffer size %v, must be a positive number", b.sink, *b.bufferSize)
	case *b.maxSize <= 0:
		return fmt.Errorf("invalid audit batch %s max batch size %v, must be a positive number", b.sink, *b.maxSize)
	case *b.throttleEnable && *b.throttleQPS <= 0:
		return fmt.Errorf("invalid audit batch %s throttle QPS %v, must be a positive number", b.sink, *b.throttleQPS)
	case *b.throttleEnable && *b.throttleBurst <= 0:
		return fmt.Errorf("invalid audit batch %s throttle burst %v, must be a positive number", b.sink, *b.throttleBurst)
	}
	return nil
}

// complete fills in the defaults of settings left at zero where zero
// means nothing (sizes, waits, rates), so that Options{PolicyFile: ...,
// LogPath: ...} works as the flags' defaults do. Zero keeps its meaning
// where it has one (no rotation, no age or count limit).
func (o *Options) complete() {
	d := DefaultOptions()
	setDefault(&o.LogFormat, d.LogFormat)
	setDefault(&o.LogBatchBufferSize, d.LogBatchBufferSize)
	setDefault(&o.LogBatchMaxSize, d.LogBatchMaxSize)
	setDefault(&o.WebhookBatchBufferSize, d.WebhookBatchBufferSize)
	setDefault(&o.WebhookBatchMaxSize, d.WebhookBatchMaxSize)
	setDefault(&o.WebhookBatchMaxWait, d.WebhookBatchMaxWait)
	setDefault(&o.LogTruncate.MaxEventSize, d.LogTruncate.MaxEventSize)
	setDefault(&o.LogTruncate.MaxBatchSize, d.LogTruncate.MaxBatchSize)
	setDefault(&o.WebhookTruncate.MaxEventSize, d.WebhookTruncate.MaxEventSize)
	setDefault(&o.WebhookTruncate.MaxBatchSize, d.WebhookTruncate.MaxBatchSize)
	setDefault(&o.LogVersion, d.LogVersion)
	setDefault(&o.WebhookVersion, d.WebhookVersion)
	setDefault(&o.LogMode, d.LogMode)
	setDefault(&o.WebhookMode, d.WebhookMode)
	if o.WebhookBatchThrottleEnable {
		setDefault(&o.WebhookBatchThrottleQPS, d.WebhookBatchThrottleQPS)
		setDefault(&o.WebhookBatchThrottleBurst, d.WebhookBatchThrottleBurst)
	}
}

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// validate refuses what kube-apiserver refuses, with its messages, in
// its order (AuditOptions.Validate): a sink's options are checked when
// the sink is on, its batch options only in batch mode.
func (o *Options) validate() error {
	var errs []error
	batches := o.batches()
	for i, c := range []struct {
		version  string
		truncate Truncate
		enabled  bool
	}{{o.LogVersion, o.LogTruncate, o.LogPath != ""}, {o.WebhookVersion, o.WebhookTruncate, o.WebhookConfigFile != ""}} {
		if !c.enabled {
			continue
		}
		b := batches[i]
		if !slices.Contains(modes, *b.mode) {
			errs = append(errs, fmt.Errorf("invalid audit %s mode %s, allowed modes are %q", b.sink, *b.mode, strings.Join(modes, ",")))
		} else if err := b.validate(); err != nil {
			errs = append(errs, err)
		}
		if err := c.truncate.validate(b.sink); err != nil {
			errs = append(errs, err)
		}
		if c.version != auditv1.SchemeGroupVersion.String() {
			errs = append(errs, fmt.Errorf("invalid group version, allowed versions are %q", []string{auditv1.SchemeGroupVersion.String()}))
		}
		if b.sink != "log" {
			continue
		}
		if o.LogFormat != FormatJSON && o.LogFormat != FormatLegacy {
			errs = append(errs, fmt.Errorf("invalid audit log format %s, allowed formats are %q", o.LogFormat, FormatLegacy+","+FormatJSON))
		}
		for _, n := range []struct {
			flag string
			v    int
		}{{"--audit-log-maxage", o.LogMaxAge}, {"--audit-log-maxbackup", o.LogMaxBackups}, {"--audit-log-maxsize", o.LogMaxSize}} {
			if n.v < 0 {
				errs = append(errs, fmt.Errorf("%s %v can't be a negative number", n.flag, n.v))
			}
		}
	}
	return errors.Join(errs...)
}
