package endpoints

import (
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// AddWarning adds a Warning header as kube-apiserver writes them: code
// 299, agent "-", the text quoted with only '"' and '\' escaped. A text
// that is not valid UTF-8 or holds control characters is left out, and a
// warning already given is not given twice.
func AddWarning(w http.ResponseWriter, text string) {
	if !utf8.ValidString(text) || strings.IndexFunc(text, unicode.IsControl) >= 0 {
		return
	}
	var b strings.Builder
	b.WriteString(`299 - "`)
	for _, r := range text {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	v := b.String()
	for _, have := range w.Header().Values("Warning") {
		if have == v {
			return
		}
	}
	w.Header().Add("Warning", v)
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
