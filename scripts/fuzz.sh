#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for SECONDS each under libFuzzer (cargo-fuzz,
# nightly toolchain). New inputs go to a scratch corpus, seeded from
# fuzz/corpus/<target>; an input that breaks a property is copied to
# fuzz/regressions/<target>/ (replayed by `make test` from then on) and the
# run fails.
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
tools=$PWD/target/tools
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: needs the nightly toolchain (rustup toolchain install nightly)" >&2; exit 1
fi
if [ ! -x "$tools/bin/cargo-fuzz" ]; then
  echo "fuzz: installing cargo-fuzz into $tools"
  cargo install cargo-fuzz --version =0.13.1 --locked -j2 --root "$tools" --quiet
fi
export PATH="$tools/bin:$PATH"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=()
for target in $(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | tail -n +2); do
  mkdir -p "$scratch/$target" "fuzz/artifacts/$target"
  echo "fuzz: $target for ${seconds}s"
  if ! cargo +nightly fuzz run --fuzz-dir fuzz --features libfuzzer "$target" \
      "$scratch/$target" "fuzz/corpus/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=1 2>"$scratch/$target.log"; then
    tail -30 "$scratch/$target.log" >&2
    mkdir -p "fuzz/regressions/$target"
    cp fuzz/artifacts/"$target"/* "fuzz/regressions/$target/" 2>/dev/null || true
    failed+=("$target")
  else
    echo "  $( (grep -E '^stat::|cov: ' "$scratch/$target.log" || true) | tail -3 | tr '\n' ' ')"
  fi
done
if ((${#failed[@]})); then
  echo "fuzz: findings in ${failed[*]}; inputs kept in fuzz/regressions/" >&2; exit 1
fi
echo "fuzz: every target ran ${seconds}s without findings"
