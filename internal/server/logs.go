package server

import (
	"errors"
	"net/http"
	"os"
	"path"
	"strings"
	"syscall"
)

// logsDir is what /logs serves, kube's (its routes.Logs).
const logsDir = "/var/log"

// logsHandler serves /logs/ (--enable-logs-handler, deprecated and off by
// default, as kube-apiserver's): the files and folders below dir, a
// folder as a listing, behind authorization like any non-resource path.
// The MUX has cleaned the path, so it stays below dir. A name too long
// for the file system is 404 "file not found", as kube answers it rather
// than ServeFile's 500.
func logsHandler(dir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actual := path.Join(dir, strings.TrimPrefix(r.URL.Path, "/logs"))
		if _, err := os.Stat(actual); errors.Is(err, syscall.ENAMETOOLONG) {
			http.Error(w, "file not found", http.StatusNotFound)
			return
		}
		http.ServeFile(w, r, actual)
	})
}
