package console

import (
	"embed"
	"io/fs"
	"net/http"
)

// web holds the page: plain HTML, CSS and modern JavaScript modules, no
// build step, so what is embedded is what is in the repository.
//
//go:embed web
var web embed.FS

// Handler serves the page and, for a page opened directly, the API
// server's paths forwarded with the user's token (api).
func Handler(api http.Handler) http.Handler {
	static, _ := fs.Sub(web, "web")
	files := http.FileServerFS(static)
	mux := http.NewServeMux()
	mux.Handle("/", headers(files))
	for _, p := range []string{"/api", "/api/", "/apis", "/apis/", "/metrics", "/version"} {
		mux.Handle(p, api)
	}
	return mux
}

// headers keeps the page to its own origin: scripts, styles and requests
// only from where it was served, no framing by other sites.
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}
