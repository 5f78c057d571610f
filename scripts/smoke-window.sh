#!/usr/bin/env bash
# Starts the desktop app in a real window under Xvfb, screenshots it, and
# fails unless the window stayed up and rendered the UI (not a blank frame).
#   scripts/smoke-window.sh BINARY OUT.png
set -euo pipefail
bin=$1 out=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CONFIG_HOME=$tmp/config XDG_DATA_HOME=$tmp/data XDG_CACHE_HOME=$tmp/cache NO_AT_BRIDGE=1
xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
  "$1" & pid=$!
  for _ in $(seq 1 40); do
    sleep 1
    kill -0 "$pid" 2>/dev/null || { echo "smoke: app exited early" >&2; exit 1; }
    import -window root "$2" 2>/dev/null || continue
    # A rendered UI has many colours; an empty frame has one or two.
    colours=$(convert "$2" -format %k info:)
    [ "$colours" -gt 50 ] && { kill "$pid"; wait "$pid" 2>/dev/null; exit 0; }
  done
  kill "$pid"; echo "smoke: window never rendered" >&2; exit 1
' _ "$bin" "$out"
echo "smoke: window rendered; screenshot at $out"
