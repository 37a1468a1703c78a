#!/bin/sh
# Benchmark (not a test): `sekisho validate` against `iconv -f CP932 -t UTF-8`
# on the same generated KNY01 file, at 50 MB and 500 MB, in the same run.
# Prints wall time, the ratio sekisho/iconv (target ≤ 0.5), peak RSS of
# both (target: sekisho under 64 MiB at both sizes) and sekisho's CPU time
# (user + system, both threads): the machine may be shared, and CPU time is
# what validation costs the other work of a check or an import.  Files are written to
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

# best of N runs by wall time: prints "seconds peak_kib cpu_seconds"
measure() {
  best=""
  for _ in 1 2 3; do
    out=$(/usr/bin/time -f "%e %M %U %S" "$@" 2>&1 >/dev/null | tail -n 1)
    wall=${out%% *}
    rest=${out#* }
    kib=${rest%% *}
    cpu=$(echo "$(echo "$rest" | cut -d' ' -f2) + $(echo "$rest" | cut -d' ' -f3)" | bc)
    if [ -z "$best" ] || [ "$(echo "$wall < ${best%% *}" | bc)" = 1 ]; then best="$wall $kib $cpu"; fi
  done
  echo "$best"
}

# "a b c" → the Nth word
word() { echo "$1" | cut -d' ' -f"$2"; }

printf '%-8s %10s %10s %8s %12s %12s %14s\n' size sekisho_s iconv_s ratio sekisho_MiB iconv_MiB \
  sekisho_cpu_s
for records in 100000 1000000; do
  dir="$work/r$records"
  mkdir "$dir"
  file=$("$synth" --policy "$work/policy.json" --out "$dir" --kind KNY01 --records "$records" --seed 3)
  size=$(stat -c %s "$file")
  cat "$file" > /dev/null # warm the page cache for both
  sk=$(measure "$sekisho" --station "$work/station" validate "$file")
  ic=$(measure iconv -f CP932 -t UTF-8 "$file")
  printf '%-8s %10s %10s %8s %12s %12s %14s\n' "$((size / 1000000))MB" "$(word "$sk" 1)" \
    "$(word "$ic" 1)" "$(echo "scale=3; $(word "$sk" 1) / $(word "$ic" 1)" | bc)" \
    "$(echo "scale=1; $(word "$sk" 2) / 1024" | bc)" "$(echo "scale=1; $(word "$ic" 2) / 1024" | bc)" \
    "$(word "$sk" 3)"
  rm -f "$file"
done
