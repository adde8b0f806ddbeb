#!/usr/bin/env bash
# Runs Kubernetes' own e2e conformance tests (kube 1.37.2's test/e2e) against a
# kapi that this script starts, one spec at a time, four at once; prints each
# spec's result and leaves the logs in $WORK/runs. Not part of CI: the first run
# downloads kube's sources (~125 MB) and builds e2e.test (~12 minutes on 2 cores).
#
#   test/conformance/run.sh [FOCUS_REGEX]
#
# FOCUS_REGEX (an extended regex on the specs' full names) defaults to the
# [Conformance] specs that need only the API: kapi runs no kubelet, scheduler or
# kube-controller-manager, so specs that wait for pods to run, or for the
# deployment, replicaset, job, disruption or endpoints controllers, fail here
# for that reason alone (see README, "kube's conformance tests").
set -euo pipefail
export GOTOOLCHAIN=local
KUBE=v1.37.2
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="${WORK:-/tmp/kapi-conformance}"
FOCUS="${1:-\[Conformance\]}"
SKIP='should be able to|running|Running|schedul|Scheduling|[Ww]ebhook|DNS|[Ee]xec|logs|Probing|Container Runtime|Kubelet|Variable Expansion|Downward API|Projected|EmptyDir|HostPath|Subpath|Networking|Proxy version|Service endpoints latency|Services should|Pods should|InitContainer|Lifecycle|PreStop|Security Context|Sysctls.*should support|DaemonRestart|Daemon set|Deployment|ReplicaSet|ReplicationController|StatefulSet|Job|CronJob should (schedule|replace|not schedule)|Garbage collector|DisruptionController|EndpointSlice should create|EndpointsController|EndpointSliceMirroring|kubectl|Kubectl|ControllerRevision|Namespaces should ensure|OrderedNamespaceDeletion|CustomResourceFieldSelectors|CustomResourceConversionWebhook|Aggregator|at least two untainted nodes|Pod Generation|consumable|should mount|HostPort|OIDC discovery|specified in multiple EndpointSlices|compacted away|Containers should|Ephemeral Containers|in volume|via environment|via the environment|in env vars'
mkdir -p "$WORK/runs"

# e2e.test, built from kube's sources with its staging modules taken from the
# module proxy at their published versions.
if [ ! -x "$WORK/e2e.test" ]; then
	GOMODCACHE="$WORK/gomod" go mod download "k8s.io/kubernetes@$KUBE"
	rm -rf "$WORK/kube" && cp -r "$WORK/gomod/k8s.io/kubernetes@$KUBE" "$WORK/kube" && chmod -R u+w "$WORK/kube"
	cd "$WORK/kube" && rm -rf vendor go.work go.work.sum
	python3 - <<'EOF'
import re
s = open('go.mod').read()
s = re.sub(r'\nreplace \((.|\n)*?\n\)\n', '\n', s)
s = re.sub(r'(\tk8s\.io/[a-z0-9-]+) v0\.0\.0\n', r'\1 v0.37.2\n', s)
open('go.mod', 'w').write(s)
EOF
	GOFLAGS=-mod=mod go test -c -o "$WORK/e2e.test" ./test/e2e
fi

# kapi on free ports, a Node for the specs that need one to exist.
cd "$ROOT" && go build -o "$WORK/kapi" ./cmd/kapi
rm -rf "$WORK/data" && mkdir -p "$WORK/data"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$WORK/data" && exec "$WORK/kapi" --secure-port "$PORT" >"$WORK/kapi.log" 2>&1) &
KAPI=$!
trap 'kill $KAPI 2>/dev/null; wait $KAPI 2>/dev/null' EXIT
KC="$WORK/data/kapi-data/admin.kubeconfig"
for _ in $(seq 60); do [ -f "$KC" ] && grep -q "is serving" "$WORK/kapi.log" && break; sleep 1; done
(cd "$ROOT" && go run ./test/conformance/node "$KC")
cd "$WORK"

# One spec per process, so that one that waits for pods does not hold the rest.
"$WORK/e2e.test" --kubeconfig="$KC" --provider=skeleton --ginkgo.dry-run --ginkgo.no-color \
	--ginkgo.focus="$FOCUS" --ginkgo.skip="$SKIP" --ginkgo.v 2>/dev/null |
	grep -E '^\[sig-' | sed -E 's/ \[[^]]*\]$//' | sort -u >"$WORK/specs.txt"
echo "$(wc -l <"$WORK/specs.txt") specs"
run() {
	local name="$1" id esc
	id=$(printf '%s' "$name" | md5sum | cut -c1-10)
	esc=$(printf '%s' "$name" | sed -e 's/[][()\\.*+?{}|^$]/\\&/g')
	timeout -k 10 180 "$WORK/e2e.test" --kubeconfig="$KC" --provider=skeleton --allowed-not-ready-nodes=-1 \
		--minStartupPods=-1 --num-nodes=1 --node-schedulable-timeout=0 --ginkgo.focus="${esc}" \
		--ginkgo.no-color --ginkgo.timeout=170s >"$WORK/runs/$id.log" 2>&1 || true
	# A spec counts as passed only when it ran: a focus that matches
	# nothing, or a spec that skips itself, exits 0 too.
	r=FAIL
	if grep -q "^Ran 0 of" "$WORK/runs/$id.log" || grep -q "^• \[SKIPPED\]" "$WORK/runs/$id.log"; then
		r=skip
	elif grep -q "^Ran 1 of" "$WORK/runs/$id.log" && grep -q "^SUCCESS!" "$WORK/runs/$id.log"; then
		r=pass
	fi
	echo "$r  $name  ($WORK/runs/$id.log)"
}
export -f run
export WORK KC
tr '\n' '\0' <"$WORK/specs.txt" | xargs -0 -P4 -I{} bash -c 'run "$1"' _ {} | tee "$WORK/results.txt"
echo "passed $(grep -c '^pass' "$WORK/results.txt"), failed $(grep -c '^FAIL' "$WORK/results.txt"), skipped $(grep -c '^skip' "$WORK/results.txt")"
