package request

import (
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// AddWarningHeader adds a Warning header to h as kube-apiserver writes
// them: code 299, agent "-", the text quoted with only '"' and '\'
// escaped. A text that is not valid UTF-8 or holds control characters is
// left out, and a warning already given is not given twice.
func AddWarningHeader(h http.Header, text string) {
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
	for _, have := range h.Values("Warning") {
		if have == v {
			return
		}
	}
	h.Add("Warning", v)
}
