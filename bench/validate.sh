#!/bin/sh
# Benchmark (not a test): `sekisho validate` against `iconv -f CP932 -t UTF-8`
# on the same generated KNY01 file, at 50 MB and 500 MB, in the same run.
# Prints wall time, the ratio sekisho/iconv (target ≤ 0.5) and peak RSS of
# both (target: sekisho under 64 MiB at both sizes).  Files are written to
# $SEKISHO_BENCH_DIR (default: a temporary directory under /var/tmp).
set -eu
cd "$(dirname "$0")/.."
SK_TOP=$(pwd)
./scripts/install-deps
[ -d _build ] || meson setup _build --werror >/dev/null
meson compile -C _build >/dev/null

sekisho="$SK_TOP/_build/cli/sekisho"
synth="$SK_TOP/_build/tools/sekisho-synth"
work=$(mktemp -d "${SEKISHO_BENCH_DIR:-/var/tmp}/sekisho-bench-XXXXXX")
. "$SK_TOP/scripts/lib-station.sh"
trap 'stop_demo_agents "$work"; rm -rf "$work"' EXIT

make_demo_station "$work" "$sekisho" >/dev/null

# best of N runs: prints "seconds peak_kib"
measure() {
  best=""
  for _ in 1 2 3; do
    out=$(/usr/bin/time -f "%e %M" "$@" 2>&1 >/dev/null | tail -n 1)
    s=${out% *}
    if [ -z "$best" ] || [ "$(echo "$s < ${best% *}" | bc)" = 1 ]; then best=$out; fi
  done
  echo "$best"
}

printf '%-8s %10s %10s %8s %12s %12s\n' size sekisho_s iconv_s ratio sekisho_MiB iconv_MiB
for records in 100000 1000000; do
  dir="$work/r$records"
  mkdir "$dir"
  file=$("$synth" --policy "$work/policy.json" --out "$dir" --kind KNY01 --records "$records" --seed 3)
  size=$(stat -c %s "$file")
  cat "$file" > /dev/null # warm the page cache for both
  sk=$(measure "$sekisho" --station "$work/station" validate "$file")
  ic=$(measure iconv -f CP932 -t UTF-8 "$file")
  printf '%-8s %10s %10s %8s %12s %12s\n' "$((size / 1000000))MB" "${sk% *}" "${ic% *}" \
    "$(echo "scale=3; ${sk% *} / ${ic% *}" | bc)" \
    "$(echo "scale=1; ${sk#* } / 1024" | bc)" "$(echo "scale=1; ${ic#* } / 1024" | bc)"
  rm -f "$file"
done
