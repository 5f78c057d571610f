#!/usr/bin/env bash
# Real-window E2E: the app under Xvfb, driven over WebDriver (tauri-driver + WebKitWebDriver), with a
# real gnome-keyring in a private D-Bus session. Two scenarios: e2e.py (first run on the embedded
# demo node: sign, pay, prove, …) and e2e_connect.py (first run connecting to a department node
# started with NODE_BINARY, default: govchain-node next to BINARY; the demo and that chain side by
# side), and e2e_hainan.py (two housing-fund centres' workstations on a node of their own and the
# citizen signer: a certificate issued, consented to, verified, revoked), and e2e_token.py (an
# official signing with a key on a SoftHSM2 token, PIN asked in the dialog). Screenshots go to OUT.
#   scripts/e2e.sh BINARY OUT_DIR [NODE_BINARY]     (E2E_ONLY=demo|connect|hainan|token: that scenario only)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "$1") out=$2
node_bin=$(realpath "${3:-$(dirname "$bin")/govchain-node}")
mkdir -p "$out"
tools=target/tools
if [ ! -x "$tools/bin/tauri-driver" ]; then
  echo "e2e: installing tauri-driver into $tools"
  cargo install tauri-driver --version =2.1.0 --locked -j2 --root "$tools" --quiet
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GOVCHAIN_DATA_DIR=$tmp/data GOVCHAIN_KEYCHAIN_SERVICE=govchain-e2e-$$
export GOVCHAIN_REPORT_DIR=$tmp/reports XDG_CONFIG_HOME=$tmp/config XDG_CACHE_HOME=$tmp/cache NO_AT_BRIDGE=1
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
scripts/with-keyring.sh xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
  set -e
  "$1" --port "$2" --native-driver /usr/bin/WebKitWebDriver >"$4/tauri-driver.log" 2>&1 & driver=$!
  trap "kill $driver 2>/dev/null" EXIT
  only=${E2E_ONLY:-}
  [ -n "$only" ] && [ "$only" != demo ] || python3 scripts/e2e.py "$3" "$4" "http://127.0.0.1:$2"
  [ -n "$only" ] && [ "$only" != connect ] || python3 scripts/e2e_connect.py "$3" "$4" "http://127.0.0.1:$2" "$6" "$5/connect"
  [ -n "$only" ] && [ "$only" != hainan ] || python3 scripts/e2e_hainan.py "$3" "$4" "http://127.0.0.1:$2" "$6" "$5/hainan"
  [ -n "$only" ] && [ "$only" != token ] || python3 scripts/e2e_token.py "$3" "$4" "http://127.0.0.1:$2" "$6" "$5/token"
' _ "$tools/bin/tauri-driver" "$port" "$bin" "$out" "$tmp" "$node_bin"
