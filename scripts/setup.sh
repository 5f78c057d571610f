#!/usr/bin/env bash
# Installs what building, running and testing govchain needs on a fresh
# Debian 12 machine, and nothing that is already there. Idempotent.
#   scripts/setup.sh        system packages + UI dependencies
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  # Tauri 2 / WebKitGTK build and runtime (BRIEF.md §6)
  libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libsoup-3.0-dev
  libjavascriptcoregtk-4.1-dev build-essential pkg-config libssl-dev file
  # headless windows, fonts, keychain (Secret Service), real-window E2E
  xvfb xauth fonts-noto-cjk gnome-keyring dbus dbus-x11 webkit2gtk-driver
  # window screenshots in the smoke test
  imagemagick
  # audit report PDF in the E2E: rendered to PNG and read back by OCR
  poppler-utils poppler-data tesseract-ocr tesseract-ocr-eng
  # hardware keys: SoftHSM2, a real PKCS#11 module, for the token tests;
  # OpenSC's pkcs11-tool makes a key on it as a vendor tool would
  softhsm2 opensc
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [ -n "$SUDO" ] && ! command -v sudo >/dev/null; then
    echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

for tool in cargo node npm python3; do
  command -v "$tool" >/dev/null || { echo "setup: '$tool' is required (Rust 1.95+, Node 20.19+)" >&2; exit 1; }
done

# Python venv for the independent protocol check (scripts/protocol_check.py).
if [ ! -x .venv/bin/python ] || [ scripts/requirements.txt -nt .venv/.installed ]; then
  echo "setup: python venv (.venv) for scripts/protocol_check.py"
  if ! python3 -m venv .venv 2>/dev/null; then
    $SUDO apt-get install -y -qq --no-install-recommends python3-venv
    python3 -m venv .venv
  fi
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r scripts/requirements.txt
  touch .venv/.installed
fi

# UI dependencies: reinstall only when the lockfile changed.
if [ ! -f ui/node_modules/.package-lock.json ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  echo "setup: npm ci (ui/)"
  (cd ui && npm ci --no-audit --no-fund --loglevel=error)
fi
