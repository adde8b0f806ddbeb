package server

import (
	"fmt"
	"io"
	"os"
	"reflect"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/zapr"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/textlogger"
)

// logging is the process's log set-up, which klog keeps in globals: the
// format and output of the last server started. Applying what is already
// in force changes nothing, so that the many servers of a test process,
// and those started side by side, do not touch klog's globals (which
// klog does not guard) while others log.
var logging struct {
	mu     sync.Mutex
	format string    // "text" or "json"
	out    io.Writer // nil: stderr
}

// applyLogging sets klog's output as --logging-format says, as
// kube-apiserver: "text" is klog's own (to stderr, or out), "json" a
// logger writing one JSON object a line, kube's JSON format:
//
//	{"ts":1735732800000.123,"caller":"webhook/plugins.go:117","msg":"Failed calling webhook, failing open","v":0,"auditID":"0b8f...","webhook":"x.example.com","err":"..."}
//
// ts is milliseconds since the epoch, v the verbosity of an info line
// (errors carry err instead). klog decides verbosity (-v, --vmodule) for
// both formats.
func applyLogging(format string, out io.Writer) error {
	if format == "" {
		format = "text"
	}
	if format != "text" && format != "json" {
		return fmt.Errorf("--logging-format: Unsupported value: %q: supported values: \"json\", \"text\"", format)
	}
	logging.mu.Lock()
	defer logging.mu.Unlock()
	if logging.format == "" {
		logging.format = "text"
	}
	if format == logging.format && sameWriter(out, logging.out) {
		return nil
	}
	logging.format, logging.out = format, out
	klog.Flush()
	switch {
	case format == "json":
		if out == nil {
			out = os.Stderr
		}
		klog.SetLoggerWithOptions(jsonLogger(out), klog.ContextualLogger(false))
	case out != nil:
		// klog's text, to out: klog writes each line once per severity
		// below it when given one writer, so its own text logger does.
		klog.SetLoggerWithOptions(textlogger.NewLogger(textlogger.NewConfig(textlogger.Output(out), textlogger.Verbosity(1<<20))), klog.ContextualLogger(false))
	default:
		klog.ClearLogger()
	}
	return nil
}

// jsonLogger writes kube's JSON log lines to out. It logs every level it
// is given: klog has already decided.
func jsonLogger(out io.Writer) logr.Logger {
	enc := zapcore.NewJSONEncoder(zapcore.EncoderConfig{
		MessageKey:     "msg",
		CallerKey:      "caller",
		NameKey:        "logger",
		TimeKey:        "ts",
		EncodeTime:     epochMillis,
		EncodeDuration: zapcore.StringDurationEncoder,
		EncodeCaller:   zapcore.ShortCallerEncoder,
	})
	all := zap.LevelEnablerFunc(func(zapcore.Level) bool { return true })
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(out)), all)
	return zapr.NewLoggerWithOptions(zap.New(core, zap.WithCaller(true)), zapr.LogInfoLevel("v"), zapr.ErrorKey("err"))
}

// epochMillis is kube's time stamp: milliseconds since the epoch, with
// the fraction.
func epochMillis(t time.Time, enc zapcore.PrimitiveArrayEncoder) {
	enc.AppendFloat64(float64(t.UnixNano()) / float64(time.Millisecond))
}

// sameWriter compares two outputs without panicking on writers whose
// type cannot be compared.
func sameWriter(a, b io.Writer) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if reflect.TypeOf(a) != reflect.TypeOf(b) || !reflect.TypeOf(a).Comparable() {
		return false
	}
	return a == b
}
