#!/usr/bin/env bash
# Runs Kubernetes' own e2e conformance tests (kube 1.37.2's test/e2e) against a
# kapi that this script starts, one spec per process, four at once ([Serial]
# specs one at a time, after the others); prints each spec's result and leaves
# the logs in $WORK/runs. Not part of CI: the first run downloads kube's
# sources (~125 MB) and builds e2e.test (~12 minutes on 2 cores).
#
#   test/conformance/run.sh [FOCUS_REGEX]
#   CONTROLLERS=1 test/conformance/run.sh [FOCUS_REGEX]
#   CONTROLLERS=kcm test/conformance/run.sh [FOCUS_REGEX]
#
# FOCUS_REGEX (an extended regex on the specs' full names) defaults to every
# [Conformance] spec; SKIP, if set, replaces the skip list below. By default
# kapi runs alone, and the specs that need kube-controller-manager's
# controllers, the scheduler or a running pod are left out. With CONTROLLERS=1
# the script also builds kube-controller-manager and kube-scheduler from the
# same sources and runs them beside kapi (without the loops kapi runs itself),
# and test/conformance/node stands in for the kubelets of two Nodes, so that
# those specs run too. CONTROLLERS=kcm is the same with every loop
# kube-controller-manager has (garbage collector, namespaces, service accounts
# and their tokens, quotas, CSR signing, ...) and none of kapi's
# (--controllers=). Run as root with CONTROLLERS, the stand-in also runs the
# pods of agnhost's webhook servers (agnhost built from the same sources),
# and the admission webhook, CRD conversion webhook and field selector specs
# run. Specs that need another container to really run are always left out
# (see README, "kube's conformance tests").
set -euo pipefail
export GOTOOLCHAIN=local
KUBE=v1.37.2
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="${WORK:-/tmp/kapi-conformance}"
FOCUS="${1:-\[Conformance\]}"
# Specs that need a container to run (its output, its network, its
# volumes) fail without a kubelet, and are always left out (so is the pod
# generation spec of 499 updates, each of which its client makes half a
# second after the last: longer than a spec may take here); those that need
# kube-controller-manager's controllers, the scheduler or a pod reported
# running are left out unless CONTROLLERS is set.
CONTAINERS='Services should be able to|DNS|[Ee]xec|logs|Probing|Container Runtime|Kubelet|Variable Expansion|Downward API|Projected|EmptyDir|HostPath|Subpath|Networking|InitContainer|Lifecycle|PreStop|Security Context|Sysctls.*should support|DaemonRestart|kubectl|Kubectl|Aggregator|consumable|should mount|HostPort|OIDC discovery|compacted away|Containers should|Ephemeral Containers|in volume|via environment|via the environment|in env vars|should serve a basic image|observedGeneration field set in pod conditions|issue 500 podspec updates'
CONTROLLERS_NEEDED='running|Running|schedul|Scheduling|Services should|Pods should|Daemon set|Deployment|ReplicaSet|ReplicationController|StatefulSet|Job|CronJob should (schedule|replace|not schedule)|Garbage collector|DisruptionController|EndpointSlice should create|EndpointsController|EndpointSliceMirroring|ControllerRevision|Namespaces should ensure|OrderedNamespaceDeletion|specified in multiple EndpointSlices|at least two untainted nodes'
# The specs whose pods are agnhost's webhook servers run when the stand-in
# kubelet runs those servers: with CONTROLLERS, as root (each server in a
# network namespace of its own).
SERVED='[Ww]ebhook|CustomResourceFieldSelectors|Proxy version'
SERVERS=
if [ -n "${CONTROLLERS:-}" ] && [ "$(id -u)" = 0 ]; then SERVERS=1; else CONTAINERS="$CONTAINERS|$SERVED"; fi
if [ -n "${SKIP:-}" ]; then :; elif [ -n "${CONTROLLERS:-}" ]; then SKIP="$CONTAINERS"; else SKIP="$CONTAINERS|$CONTROLLERS_NEEDED"; fi
mkdir -p "$WORK/runs"

# e2e.test, built from kube's sources with its staging modules taken from the
# module proxy at their published versions.
if [ ! -d "$WORK/kube" ]; then
	GOMODCACHE="$WORK/gomod" go mod download "k8s.io/kubernetes@$KUBE"
	cp -r "$WORK/gomod/k8s.io/kubernetes@$KUBE" "$WORK/kube.new" && chmod -R u+w "$WORK/kube.new"
	(cd "$WORK/kube.new" && rm -rf vendor go.work go.work.sum && python3 - <<'EOF'
import re
s = open('go.mod').read()
s = re.sub(r'\nreplace \((.|\n)*?\n\)\n', '\n', s)
s = re.sub(r'(\tk8s\.io/[a-z0-9-]+) v0\.0\.0\n', r'\1 v0.37.2\n', s)
open('go.mod', 'w').write(s)
EOF
	)
	mv "$WORK/kube.new" "$WORK/kube"
fi
[ -x "$WORK/e2e.test" ] || (cd "$WORK/kube" && GOFLAGS=-mod=mod go test -c -o "$WORK/e2e.test" ./test/e2e)
if [ -n "${CONTROLLERS:-}" ]; then
	for c in kube-controller-manager kube-scheduler; do
		[ -x "$WORK/$c" ] || (cd "$WORK/kube" && GOFLAGS=-mod=mod go build -o "$WORK/$c" "./cmd/$c")
	done
fi
NODE_FLAGS=()
if [ -n "$SERVERS" ]; then
	# agnhost and the files its image holds beside it (porter's TLS pair).
	if [ ! -x "$WORK/agnhost-image/agnhost" ]; then
		mkdir -p "$WORK/agnhost-image"
		(cd "$WORK/kube" && GOFLAGS=-mod=mod go build -o "$WORK/agnhost-image/agnhost" ./test/images/agnhost)
		cp "$WORK/kube/test/images/agnhost/porter/localhost.crt" "$WORK/kube/test/images/agnhost/porter/localhost.key" "$WORK/agnhost-image/"
	fi
	NODE_FLAGS=(-agnhost "$WORK/agnhost-image/agnhost")
fi

# kapi on free ports, a Node for the specs that need one to exist.
cd "$ROOT" && go build -o "$WORK/kapi" ./cmd/kapi
rm -rf "$WORK/data" && mkdir -p "$WORK/data"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; wait "${PIDS[@]}" 2>/dev/null' EXIT
# Privileged pods allowed, as in the clusters kube's e2e tests run on.
KAPI_FLAGS=(--allow-privileged=true)
[ "${CONTROLLERS:-}" = kcm ] && KAPI_FLAGS+=(--controllers=)
(cd "$WORK/data" && exec "$WORK/kapi" --secure-port "$PORT" "${KAPI_FLAGS[@]}" >"$WORK/kapi.log" 2>&1) &
PIDS+=($!)
KC="$WORK/data/kapi-data/admin.kubeconfig"
PKI="$WORK/data/kapi-data/pki"
for _ in $(seq 60); do [ -f "$KC" ] && grep -q "is serving" "$WORK/kapi.log" && break; sleep 1; done
if [ -n "${CONTROLLERS:-}" ]; then
	# kube-controller-manager without the loops kapi runs (none with
	# CONTROLLERS=kcm), the scheduler, and two Nodes whose kubelets
	# test/conformance/node stands in for.
	KCM_LOOPS='*'
	if [ "$CONTROLLERS" != kcm ]; then
		KCM_LOOPS="*,$("$WORK/kapi" --help 2>&1 | sed -n 's/.*All controllers: \([^.]*\)\..*/\1/p' | tr -d ' ' | tr ',' '\n' | sed 's/^/-/' | paste -sd,)"
	fi
	"$WORK/kube-controller-manager" --kubeconfig "$KC" --leader-elect=false --secure-port=0 \
		--use-service-account-credentials --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
		--cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
		--controllers="$KCM_LOOPS" >"$WORK/kcm.log" 2>&1 &
	PIDS+=($!)
	"$WORK/kube-scheduler" --kubeconfig "$KC" --authentication-kubeconfig "$KC" --authorization-kubeconfig "$KC" \
		--leader-elect=false --secure-port=0 >"$WORK/scheduler.log" 2>&1 &
	PIDS+=($!)
	(cd "$ROOT" && go build -o "$WORK/node" ./test/conformance/node)
	"$WORK/node" -nodes 2 -kubelet "${NODE_FLAGS[@]}" "$KC" >"$WORK/kubelet.log" 2>&1 &
	PIDS+=($!)
	sleep 5
else
	(cd "$ROOT" && go run ./test/conformance/node "$KC")
fi
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
	# nothing, or a spec that skips itself, exits 0 too. (A spec whose
	# name begins another's runs with it, and both must pass.)
	r=FAIL
	if grep -q "^Ran 0 of" "$WORK/runs/$id.log" || grep -q "^• \[SKIPPED\]" "$WORK/runs/$id.log"; then
		r=skip
	elif grep -q "^Ran [1-9][0-9]* of" "$WORK/runs/$id.log" && grep -q "^SUCCESS!" "$WORK/runs/$id.log"; then
		r=pass
	fi
	echo "$r  $name  ($WORK/runs/$id.log)"
}
export -f run
export WORK KC
# [Serial] specs share cluster-wide objects (priority classes, node
# labels): they run one at a time, after the others.
{
	{ grep -v '\[Serial\]' "$WORK/specs.txt" || true; } | tr '\n' '\0' | xargs -0 -r -P4 -I{} bash -c 'run "$1"' _ {}
	{ grep '\[Serial\]' "$WORK/specs.txt" || true; } | tr '\n' '\0' | xargs -0 -r -P1 -I{} bash -c 'run "$1"' _ {}
} | tee "$WORK/results.txt"
echo "passed $(grep -c '^pass' "$WORK/results.txt"), failed $(grep -c '^FAIL' "$WORK/results.txt"), skipped $(grep -c '^skip' "$WORK/results.txt")"
