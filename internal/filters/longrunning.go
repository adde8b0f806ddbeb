package filters

import "kapi/internal/request"

// longRunningSubresources never end on their own; like watches they are
// not counted by the in-flight limits and have no request timeout.
var longRunningSubresources = map[string]bool{"proxy": true, "log": true, "exec": true, "attach": true, "portforward": true}

// isLongRunning reports whether the request may stream indefinitely.
func isLongRunning(info *request.Info) bool {
	if info == nil {
		return false
	}
	return info.Verb == "watch" || (info.IsResourceRequest && longRunningSubresources[info.Subresource])
}
