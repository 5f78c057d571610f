#!/usr/bin/env bash
# Runs a command with a real Secret Service: a private D-Bus session with a
# fresh, unlocked gnome-keyring (the OS keychain govchain uses on Linux).
# Used by `make test`; sets GOVCHAIN_KEYRING=1 so keychain tests run.
#   scripts/with-keyring.sh cargo test ...
set -euo pipefail
if [ -z "${GOVCHAIN_KEYRING_SESSION:-}" ]; then
  export GOVCHAIN_KEYRING_SESSION=1
  exec dbus-run-session -- "$0" "$@"
fi
# A keyring of its own, so the unlock password below always opens it.
XDG_DATA_HOME="$(mktemp -d)"
export XDG_DATA_HOME
trap 'rm -rf "$XDG_DATA_HOME"' EXIT
# No DISPLAY for the daemon: a prompt must fail, never wait for a click.
echo -n "govchain-test" | env -u DISPLAY gnome-keyring-daemon --unlock --components=secrets --daemonize >/dev/null
# --daemonize returns before the daemon owns its bus name; a client that
# connected now would activate a second daemon. Wait without activating.
for _ in $(seq 100); do
  if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
       org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true"; then
    break
  fi
  sleep 0.1
done
export GOVCHAIN_KEYRING=1
"$@"
