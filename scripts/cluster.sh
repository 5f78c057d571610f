#!/usr/bin/env bash
# Starts a three-department consortium on loopback: three govchain-node
# processes replicating one chain with Raft (ports 7701-7703), each also
# witnessing the others' checkpoints. Data, keys and logs go to $DIR
# (default target/cluster, created fresh). Ctrl-C stops all three.
#
#   scripts/cluster.sh [path/to/govchain-node]
#
# Without a path it uses an already built target/{release,debug}/govchain-node
# that is newer than the node's and ledger's sources (the newest of the two),
# and builds one with cargo only when there is none.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

# True if $1 exists and no source it is built from is newer.
fresh() {
  [[ -x $1 ]] || return 1
  [[ -z $(find "$ROOT"/crates/{node,ledger}/src "$ROOT"/crates/{node,ledger}/Cargo.toml "$ROOT"/Cargo.{toml,lock} -newer "$1" \
            -type f \( -name '*.rs' -o -name Cargo.toml -o -name Cargo.lock \) -print -quit) ]]
}

if [[ $# -ge 1 ]]; then
  BIN=$1
else
  BIN=
  for b in $(ls -t "$TARGET/release/govchain-node" "$TARGET/debug/govchain-node" 2>/dev/null); do
    if fresh "$b"; then BIN=$b; break; fi
  done
  if [[ -z $BIN ]]; then
    echo "cluster: no up-to-date govchain-node in $TARGET; building it"
    (cd "$ROOT" && cargo build -j2 -p govchain-node)
    BIN=$TARGET/debug/govchain-node
  fi
  echo "cluster: using $BIN"
fi
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
