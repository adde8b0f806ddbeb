package router

import (
	"net/http"
	"strings"

	"kapi/internal/endpoints"
	"kapi/internal/request"
)

// serve answers the discovery paths: /api, /api/v1, /apis, /apis/<g>,
// /apis/<g>/<v>.
func (d *Discovery) serve(w http.ResponseWriter, r *http.Request) {
	info := request.InfoFrom(r.Context())
	if info == nil {
		info = request.Parse(r)
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if agg, ok := aggregatedAccept(r); ok && len(parts) == 1 {
		if parts[0] == "api" {
			serveAggregated(w, r, agg, d.aggCore)
		} else {
			serveAggregated(w, r, agg, d.aggGroups)
		}
		return
	}
	out, err := endpoints.NegotiateOutput(r)
	if err != nil || out.As != "" {
		if err == nil {
			err = endpoints.NotAcceptable()
		}
		endpoints.WriteError(w, r, err)
		return
	}
	switch {
	case len(parts) == 1 && parts[0] == "api":
		endpoints.WriteObject(w, r, http.StatusOK, out, d.core)
		return
	case len(parts) == 2 && parts[0] == "api":
		if list := d.resources[parts[1]]; list != nil {
			endpoints.WriteObject(w, r, http.StatusOK, out, list)
			return
		}
	case len(parts) == 1 && parts[0] == "apis":
		endpoints.WriteObject(w, r, http.StatusOK, out, d.groups)
		return
	case len(parts) == 2 && parts[0] == "apis":
		if g := d.groupByName[parts[1]]; g != nil {
			endpoints.WriteObject(w, r, http.StatusOK, out, g)
			return
		}
	case len(parts) == 3 && parts[0] == "apis":
		if list := d.resources[parts[1]+"/"+parts[2]]; list != nil {
			endpoints.WriteObject(w, r, http.StatusOK, out, list)
			return
		}
	}
	endpoints.WriteError(w, r, notFound())
}
