#!/usr/bin/env bash
# Three kapi replicas on a three-member etcd cluster, on this machine:
#
#   hack/three-replicas.sh            # Ctrl-C stops everything
#
# It builds kapi and etcd (from the modules in go.mod) into $DIR/bin, starts
# the three etcd members and the three replicas, which join with one token
# (--token: the first keeps the CA and keys in etcd, sealed with it; the
# others take them), and prints the kubectl line of each replica. The data
# of each stays in $DIR (default ./kapi-cluster) and is reused on the next
# run, with the token kept in $DIR/token.
#
# Environment: DIR (data folder), BASE_PORT (default 6443: the replicas serve
# on BASE_PORT..+2, etcd's clients on BASE_PORT+10.., its peers on
# BASE_PORT+20..), TOKEN (default: made once, kept in $DIR/token), KAPI_BIN
# and ETCD_BIN (binaries to use instead of building them).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

DIR=${DIR:-$PWD/kapi-cluster}
BASE_PORT=${BASE_PORT:-6443}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

KAPI_BIN=${KAPI_BIN:-}
ETCD_BIN=${ETCD_BIN:-}
if [ -z "$KAPI_BIN" ] || [ -z "$ETCD_BIN" ]; then
	echo "building kapi and etcd into $DIR/bin ..."
	go build -o "$DIR/bin/kapi" ./cmd/kapi
	go build -o "$DIR/bin/etcd" ./test/etcd
	KAPI_BIN=${KAPI_BIN:-$DIR/bin/kapi}
	ETCD_BIN=${ETCD_BIN:-$DIR/bin/etcd}
fi

if [ -z "${TOKEN:-}" ]; then
	if [ ! -s "$DIR/token" ]; then
		(umask 077 && head -c 32 /dev/urandom | base64 | tr -d '=+/\n' > "$DIR/token")
	fi
	TOKEN=$(cat "$DIR/token")
fi

pids=()
stop() {
	trap - INT TERM EXIT
	echo "stopping ..."
	# kapi first (it leaves the kubernetes Service's endpoints), then etcd.
	for pid in "${pids[@]:3}" "${pids[@]:0:3}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	wait || true
}
trap stop INT TERM EXIT

cluster=""
endpoints=""
for i in 0 1 2; do
	client=$((BASE_PORT + 10 + i)) peer=$((BASE_PORT + 20 + i))
	cluster+="${cluster:+,}etcd$i=http://127.0.0.1:$peer"
	endpoints+="${endpoints:+,}http://127.0.0.1:$client"
done
for i in 0 1 2; do
	client=$((BASE_PORT + 10 + i)) peer=$((BASE_PORT + 20 + i))
	state=new
	[ -d "$DIR/etcd$i/member" ] && state=existing
	"$ETCD_BIN" --name "etcd$i" --data-dir "$DIR/etcd$i" \
		--listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
		--listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
		--initial-cluster "$cluster" --initial-cluster-state "$state" --initial-cluster-token kapi-cluster \
		--log-level error >"$DIR/etcd$i.log" 2>&1 &
	pids+=($!)
done

for i in 0 1 2; do
	port=$((BASE_PORT + i))
	# One host: each replica needs an identity (its kube-system Lease) of
	# its own, where kube's default is the host's.
	"$KAPI_BIN" --data-dir "$DIR/kapi$i" --secure-port "$port" --etcd-servers "$endpoints" \
		--token "$TOKEN" --apiserver-identity "apiserver-kapi$i" >"$DIR/kapi$i.log" 2>&1 &
	pids+=($!)
	# The first replica publishes the cluster's secrets; the others wait
	# for its line so that they join rather than race it.
	for _ in $(seq 600); do
		grep -q "kapi is serving" "$DIR/kapi$i.log" && break
		kill -0 "${pids[-1]}" 2>/dev/null || { cat "$DIR/kapi$i.log"; exit 1; }
		sleep 0.1
	done
	grep -q "kapi is serving" "$DIR/kapi$i.log" || { echo "kapi$i did not start"; cat "$DIR/kapi$i.log"; exit 1; }
done

echo "three replicas are serving, on one etcd cluster ($endpoints):"
for i in 0 1 2; do
	echo "  kubectl --kubeconfig $DIR/kapi$i/admin.kubeconfig get namespaces    # https://127.0.0.1:$((BASE_PORT + i))"
done
echo "ready; logs in $DIR/*.log; Ctrl-C stops them"
wait -n || true
echo "a process of the cluster ended"
