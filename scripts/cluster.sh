#!/usr/bin/env bash
# Starts a three-department consortium on loopback: three govchain-node
# processes replicating one chain with Raft (ports 7701-7703), each also
# witnessing the others' checkpoints. Data, keys and logs go to $DIR
# (default target/cluster, created fresh). Ctrl-C stops all three.
#
#   scripts/cluster.sh [path/to/govchain-node]
set -euo pipefail
BIN=${1:-target/debug/govchain-node}
DIR=${DIR:-target/cluster}
BASE_PORT=${BASE_PORT:-7701}
DEPTS=(city-management fire-department construction)

rm -rf "$DIR"
mkdir -p "$DIR"
pub() { "$BIN" keygen --out "$1" | sed -n 's/^public key  //p'; }

{
  echo 'chain_id = "gov-cluster"'
  echo 'origin = "govchain.example/gov-cluster"'
  echo 'consortium_threshold = 2'
  for d in "${DEPTS[@]}"; do
    echo
    echo '[[departments]]'
    echo "id = \"$d\""
    echo "name = \"$d\""
    echo "node_key = \"$(pub "$DIR/$d.node.key")\""
    echo 'admin_threshold = 1'
    echo "admins = [{ name = \"admin\", public_key = \"$(pub "$DIR/$d.admin.key")\" }]"
  done
} > "$DIR/genesis.toml"

{
  echo 'heartbeat_ms = 150'
  echo 'election_timeout_ms = 1000'
  for i in "${!DEPTS[@]}"; do
    echo
    echo '[[members]]'
    echo "id = $((i + 1))"
    echo "url = \"http://127.0.0.1:$((BASE_PORT + i))\""
    echo "name = \"node.${DEPTS[$i]}.example\""
    echo "department = \"${DEPTS[$i]}\""
  done
} > "$DIR/cluster.toml"

first=${DEPTS[0]}
"$BIN" init --genesis "$DIR/genesis.toml" --data-dir "$DIR/$first" \
  --node-key "$DIR/$first.node.key" --admin-key "$DIR/$first.admin.key"
for d in "${DEPTS[@]:1}"; do
  "$BIN" init --from-block "$DIR/$first/block0.json" --data-dir "$DIR/$d" --node-key "$DIR/$d.node.key"
done

pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM
for i in "${!DEPTS[@]}"; do
  d=${DEPTS[$i]}
  "$BIN" run --data-dir "$DIR/$d" --node-key "$DIR/$d.node.key" --name "node.$d.example" \
    --listen "127.0.0.1:$((BASE_PORT + i))" --cluster "$DIR/cluster.toml" --node-id $((i + 1)) \
    > "$DIR/$d.out" 2> "$DIR/$d.log" &
  pids+=($!)
done

# A member's role from /healthz (python3 is required by `make` anyway).
role() {
  python3 -c 'import json,sys,urllib.request
try: print(json.load(urllib.request.urlopen(sys.argv[1] + "/healthz", timeout=1))["role"])
except Exception: pass' "$1"
}

echo "waiting for a leader..."
for _ in $(seq 1 100); do
  for i in "${!DEPTS[@]}"; do
    if role "http://127.0.0.1:$((BASE_PORT + i))" | grep -qx leader; then
      echo "consortium up: http://127.0.0.1:$BASE_PORT .. $((BASE_PORT + ${#DEPTS[@]} - 1)); leader: ${DEPTS[$i]}"
      echo "admin keys and logs in $DIR; Ctrl-C stops the nodes"
      wait
      exit 0
    fi
  done
  sleep 0.1
done
echo "no leader within 10 s; see $DIR/*.log" >&2
exit 1
