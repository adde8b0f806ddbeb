package router

import (
	"net/http"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kapi/internal/endpoints"
	"kapi/internal/request"
)

// serve answers the discovery paths: /api, /api/v1, /apis, /apis/<g>,
// /apis/<g>/<v>.
func (d *Discovery) serve(w http.ResponseWriter, r *http.Request) {
	docs := d.docs()
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if agg, ok := aggregatedAccept(r); ok && len(parts) == 1 {
		// kube-apiserver counts aggregated discovery in the request
		// metrics, not the other discovery documents.
		request.Instrument(r.Context(), request.Route{Subresource: parts[0], Component: "apiserver"})
		if parts[0] == "api" {
			serveAggregated(w, r, agg, docs.aggCore)
		} else {
			serveAggregated(w, r, agg, docs.aggGroups)
		}
		return
	}
	out, err := endpoints.NegotiateOutput(r, nil, false)
	if err != nil || out.As != "" {
		if err == nil {
			err = endpoints.NotAcceptable()
		}
		endpoints.WriteError(w, r, err)
		return
	}
	switch {
	case len(parts) == 1 && parts[0] == "api":
		core := docs.core
		if d.serverAddress != "" {
			cp := *core
			cp.ServerAddressByClientCIDRs = []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: d.serverAddress}}
			core = &cp
		}
		endpoints.WriteObject(w, r, http.StatusOK, out, core)
		return
	case len(parts) == 2 && parts[0] == "api":
		if list := docs.resources[parts[1]]; list != nil {
			endpoints.WriteObject(w, r, http.StatusOK, out, list)
			return
		}
	case len(parts) == 1 && parts[0] == "apis":
		endpoints.WriteObject(w, r, http.StatusOK, out, docs.groups)
		return
	case len(parts) == 2 && parts[0] == "apis":
		if g := docs.groupByName[parts[1]]; g != nil {
			endpoints.WriteObject(w, r, http.StatusOK, out, g)
			return
		}
	case len(parts) == 3 && parts[0] == "apis":
		if list := docs.resources[parts[1]+"/"+parts[2]]; list != nil {
			endpoints.WriteObject(w, r, http.StatusOK, out, list)
			return
		}
	}
	endpoints.WriteError(w, r, endpoints.NotFound())
}
