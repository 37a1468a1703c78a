#!/bin/sh
# Benchmark (not a test): import of a KNY01 package (1,000,000 records,
# some 500 MB; RECORDS as the first argument) in-process and through
# sekishod on a private system bus with the real polkitd, RUNS times each
# (the second argument, default 3) in the same run, interleaved, and the
# medians (DESIGN.md §10: the service adds at most 5%).  Each run needs a
# fresh package on each side (a station imports a package once), so the
# timing is the test's own around the import alone, not farm-bench's of a
# whole process.  Needs root, as the service tests do
# (tests/service/test-service.c).
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
records=${1:-1000000}
runs=${2:-3}
[ -d _build ] || meson setup _build --werror >/dev/null
meson compile -C _build >/dev/null
SK_SERVICE_BENCH_RECORDS=$records \
SK_SERVICE_BENCH_RUNS=$runs \
SEKISHOD="$top/_build/service/sekishod" \
SK_BUS_CLIENT="$top/_build/tests/service/sk-bus-client" \
SK_POLKIT_ACTIONS="$top/_build/policies/jp.sekisho.policy" \
SK_POLKIT_RULES="$top/policies/jp.sekisho.rules" \
SK_BUS_POLICY="$top/packaging/dbus/jp.sekisho.Station1.conf" \
  "$top/_build/tests/service/test-service" -p /service/bench-import | grep -E '^# (import|run)'
