package endpoints

import (
	"net/http"
	"strings"

	"kapi/internal/request"
)

// AddWarning adds a Warning header to w's response, as kube-apiserver
// writes them (see request.AddWarningHeader).
func AddWarning(w http.ResponseWriter, text string) {
	request.AddWarningHeader(w.Header(), text)
}

// The beginnings of a YAML decoder's strict errors, which list their
// problems a line each.
const (
	yamlErrorsShort = "yaml: unmarshal errors:\n"
	yamlErrorsLong  = "error converting YAML to JSON: yaml: unmarshal errors:\n"
)

// addStrictDecodingWarnings adds a warning for each unknown or duplicate
// field: one per line of a YAML decoder's error, as kube-apiserver splits
// them.
func addStrictDecodingWarnings(w http.ResponseWriter, errs []error) {
	for _, e := range errs {
		msg := e.Error()
		rest, ok := strings.CutPrefix(msg, yamlErrorsShort)
		if !ok {
			rest, ok = strings.CutPrefix(msg, yamlErrorsLong)
		}
		if !ok {
			AddWarning(w, msg)
			continue
		}
		for _, line := range strings.Split(rest, "\n") {
			AddWarning(w, strings.TrimSpace(line))
		}
	}
}
