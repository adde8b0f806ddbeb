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

	LogPath            string   // --audit-log-path; "-" is stdout
	LogMaxAge          int      // --audit-log-maxage, days
	LogMaxBackups      int      // --audit-log-maxbackup
	LogMaxSize         int      // --audit-log-maxsize, MB; 0 does not rotate
	LogFormat          string   // --audit-log-format: json or legacy
	LogCompress        bool     // --audit-log-compress
	LogBatchBufferSize int      // --audit-log-batch-buffer-size
	LogTruncate        Truncate // --audit-log-truncate-*
	LogVersion         string   // --audit-log-version: audit.k8s.io/v1, the only one
	LogMode            string   // --audit-log-mode: blocking (kube's default), batch, blocking-strict

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
	fs.IntVar(&o.LogBatchBufferSize, "audit-log-batch-buffer-size", o.LogBatchBufferSize,
		"The size of the buffer to store events before batching and writing; events beyond it are dropped.")

	fs.StringVar(&o.WebhookConfigFile, "audit-webhook-config-file", o.WebhookConfigFile,
		"Path to a kubeconfig formatted file that defines the audit webhook configuration.")
	fs.DurationVar(&o.WebhookInitialBackoff, "audit-webhook-initial-backoff", o.WebhookInitialBackoff,
		"The amount of time to wait before retrying the first failed request.")
	fs.IntVar(&o.WebhookBatchBufferSize, "audit-webhook-batch-buffer-size", o.WebhookBatchBufferSize,
		"The size of the buffer to store events before batching and writing; events beyond it are dropped.")
	fs.IntVar(&o.WebhookBatchMaxSize, "audit-webhook-batch-max-size", o.WebhookBatchMaxSize,
		"The maximum size of a batch.")
	fs.DurationVar(&o.WebhookBatchMaxWait, "audit-webhook-batch-max-wait", o.WebhookBatchMaxWait,
		"The amount of time to wait before force writing the batch that hadn't reached the max size.")
	fs.BoolVar(&o.WebhookBatchThrottleEnable, "audit-webhook-batch-throttle-enable", o.WebhookBatchThrottleEnable,
		"Whether batching throttling is enabled.")
	fs.Float32Var(&o.WebhookBatchThrottleQPS, "audit-webhook-batch-throttle-qps", o.WebhookBatchThrottleQPS,
		"Maximum average number of batches per second.")
	fs.IntVar(&o.WebhookBatchThrottleBurst, "audit-webhook-batch-throttle-burst", o.WebhookBatchThrottleBurst,
		"Maximum number of requests sent at the same moment if ThrottleQPS was not utilized before.")
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

// complete fills in the defaults of settings left at zero where zero
// means nothing (sizes, waits, rates), so that Options{PolicyFile: ...,
// LogPath: ...} works as the flags' defaults do. Zero keeps its meaning
// where it has one (no rotation, no age or count limit).
func (o *Options) complete() {
	d := DefaultOptions()
	setDefault(&o.LogFormat, d.LogFormat)
	setDefault(&o.LogBatchBufferSize, d.LogBatchBufferSize)
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

// validate refuses what kube-apiserver refuses.
func (o *Options) validate() error {
	var errs []error
	for _, c := range []struct {
		flag string
		v    int
	}{
		{"--audit-log-maxage", o.LogMaxAge},
		{"--audit-log-maxbackup", o.LogMaxBackups},
		{"--audit-log-maxsize", o.LogMaxSize},
		{"--audit-log-batch-buffer-size", o.LogBatchBufferSize},
		{"--audit-webhook-batch-buffer-size", o.WebhookBatchBufferSize},
		{"--audit-webhook-batch-max-size", o.WebhookBatchMaxSize},
		{"--audit-webhook-batch-throttle-burst", o.WebhookBatchThrottleBurst},
	} {
		if c.v < 0 {
			errs = append(errs, fmt.Errorf("%s %d can't be a negative number", c.flag, c.v))
		}
	}
	if o.WebhookBatchThrottleQPS < 0 {
		errs = append(errs, fmt.Errorf("--audit-webhook-batch-throttle-qps %v can't be a negative number", o.WebhookBatchThrottleQPS))
	}
	if o.WebhookBatchMaxWait < 0 || o.WebhookInitialBackoff < 0 {
		errs = append(errs, errors.New("--audit-webhook-batch-max-wait and --audit-webhook-initial-backoff can't be negative"))
	}
	for _, c := range []struct {
		sink, version, mode string
		truncate            Truncate
		enabled             bool
	}{{"log", o.LogVersion, o.LogMode, o.LogTruncate, o.LogPath != ""}, {"webhook", o.WebhookVersion, o.WebhookMode, o.WebhookTruncate, o.WebhookConfigFile != ""}} {
		if !c.enabled { // as kube, a sink's options are checked when it is on
			continue
		}
		if !slices.Contains(modes, c.mode) {
			errs = append(errs, fmt.Errorf("invalid audit %s mode %s, allowed modes are %q", c.sink, c.mode, strings.Join(modes, ",")))
		}
		if err := c.truncate.validate(c.sink); err != nil {
			errs = append(errs, err)
		}
		if c.version != auditv1.SchemeGroupVersion.String() {
			errs = append(errs, fmt.Errorf("invalid group version, allowed versions are %q", []string{auditv1.SchemeGroupVersion.String()}))
		}
	}
	if o.LogFormat != FormatJSON && o.LogFormat != FormatLegacy {
		errs = append(errs, fmt.Errorf("--audit-log-format %q: known formats are %s,%s", o.LogFormat, FormatLegacy, FormatJSON))
	}
	return errors.Join(errs...)
}
