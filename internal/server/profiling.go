package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strconv"

	"k8s.io/klog/v2"
)

// profilingHandlers serve /debug/pprof and /debug/flags (--profiling, on
// by default as in kube-apiserver), behind authorization like any
// non-resource path. /debug/flags/v takes a PUT of klog's verbosity, as
// kube's (routes.DebugFlags with logs.GlogSetter).
func profilingHandlers() map[string]http.Handler {
	return map[string]http.Handler{
		"/debug/pprof":         http.RedirectHandler("/debug/pprof/", http.StatusMovedPermanently),
		"/debug/pprof/":        http.HandlerFunc(pprof.Index),
		"/debug/pprof/cmdline": http.HandlerFunc(pprof.Cmdline),
		"/debug/pprof/profile": http.HandlerFunc(pprof.Profile),
		"/debug/pprof/symbol":  http.HandlerFunc(pprof.Symbol),
		"/debug/pprof/trace":   http.HandlerFunc(pprof.Trace),
		"/debug/flags":         http.HandlerFunc(debugFlagsIndex),
		"/debug/flags/":        http.HandlerFunc(debugFlagsIndex),
		"/debug/flags/v":       http.HandlerFunc(putVerbosity),
	}
}

// debugFlagsIndex is kube's page of the flags /debug/flags sets.
func debugFlagsIndex(w http.ResponseWriter, _ *http.Request) {
	io.WriteString(w, "<html>\n<head>\n<title>/debug/flags/</title>\n</head>\n<body>\n/debug/flags/<br>\n<br>\nflags:<br>\n<table>\n"+
		"<tr>v<br>\n</table>\n<br>\nfull flags configurable<br>\n</body>\n</html>\n")
}

// putVerbosity sets klog's -v from a PUT's body, with kube's answers.
func putVerbosity(w http.ResponseWriter, r *http.Request) {
	plain := func(code int, text string) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(code)
		fmt.Fprintln(w, text)
	}
	if r.Method != http.MethodPut {
		plain(http.StatusNotAcceptable, "unsupported http method")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		plain(http.StatusBadRequest, "error reading request body: "+err.Error())
		return
	}
	val := string(body)
	if _, err := strconv.ParseUint(val, 10, 32); err != nil {
		plain(http.StatusBadRequest, err.Error())
		return
	}
	var level klog.Level
	if err := level.Set(val); err != nil {
		plain(http.StatusBadRequest, fmt.Sprintf("failed set klog.logging.verbosity %s: %v", val, err))
		return
	}
	plain(http.StatusOK, "successfully set klog.logging.verbosity to "+val)
}

// debugSocket serves the profiling handlers on the unix socket at path,
// without authentication or authorization (--debug-socket-path, as
// kube's unprotected debug socket): whoever may open the file may use
// them. A file left at path is removed first, as kube does.
func debugSocket(path string) (*http.Server, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("failed to remove (%v): %v", path, err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen error (%v): %v", path, err)
	}
	mux := http.NewServeMux()
	for p, h := range profilingHandlers() {
		mux.Handle(p, h)
	}
	srv := &http.Server{Handler: mux}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			klog.ErrorS(err, "the debug socket", "path", path)
		}
	}()
	return srv, nil
}
