#!/bin/sh
# Benchmark (not a test): `sekisho pack` against `gpg --sign` + `gpg --encrypt`,
# and `sekisho check` and `sekisho case import` against `gpg --verify` +
# `gpg -d`, on the same generated KNY01 data at 50 MB and 500 MB, in the same
# run, with peak RSS of each.  Import copies the package into the store and
# syncs it (DESIGN.md §4, acceptance 2): on a slow disk that sync alone can
# outweigh the stock pipeline, so the cp+sync row gives its floor.
# Targets (DESIGN.md §10, issue 15): check and import ≤ 0.75× at 500 MB and
# ≤ 1.0× at 50 MB, pack ≤ 1.0×, sekisho under 64 MiB at both sizes.
# Pack also syncs the package and reads it back from the medium (stock gpg
# does neither): the cp+sync row is the floor under pack as well.
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
{ make_demo_station "$work" "$sekisho"; make_standard_station "$work" "$sekisho"; } >/dev/null 2>&1
std="$work/standard/gnupg"
term="$work/station/gnupg"

# "seconds peak_kib" of one run
measure() {
  /usr/bin/time -f "%e %M" "$@" 2>&1 >/dev/null | tail -n 1
}

# The machine may be shared: its load, before and after, says how far to
# trust one run's ratios.
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
printf '%-6s %-22s %9s %9s %7s %11s %11s\n' size what sekisho_s gpg_s ratio sekisho_MiB gpg_MiB
for records in 100000 1000000; do
  dir="$work/r$records"
  mkdir -p "$dir/in" "$dir/out" "$dir/gpg"
  file=$("$synth" --policy "$work/policy.json" --out "$dir/in" --kind KNY01 --records "$records" \
    --seed 3 --case C0000000000000000003)
  size=$(( $(stat -c %s "$file") / 1000000 ))MB
  cat "$file" > /dev/null

  sk_pack=$(measure "$sekisho" --station "$work/standard" pack --workflow subscriber \
    --case C0000000000000000003 --out "$dir/out" "$file")
  pkg=$(ls "$dir"/out/*.tar.gpg)
  # pack writes past the page cache (O_DIRECT): read the package once so
  # that sekisho and stock gpg both find it cached, as the input was
  cat "$pkg" > /dev/null
  # the same work by the stock CLI: a tar, encrypted, then a detached signature
  tar -cf "$dir/gpg/p.tar" -C "$dir/in" .
  gpg_pack=$( (measure gpg --homedir "$std" --batch --yes --trust-model always \
      --compress-level 0 -r "$STATION" -o "$dir/gpg/p.tar.gpg" --encrypt "$dir/gpg/p.tar";
    measure gpg --homedir "$std" --batch --yes -u "$STANDARD" -o "$dir/gpg/p.tar.gpg.sig" \
      --detach-sign "$dir/gpg/p.tar.gpg") | awk '{ s += $1; if ($2 > m) m = $2 } END { print s, m }')

  sk_check=$(measure "$sekisho" --station "$work/station" check "$pkg")
  gpg_check=$( (measure gpg --homedir "$term" --batch --verify "$pkg.sig" "$pkg";
    measure gpg --homedir "$term" --batch -o /dev/null -d "$pkg") |
    awk '{ s += $1; if ($2 > m) m = $2 } END { print s, m }')

  # import into a copy of the station as it was before (import is once
  # per package), and the floor under it: the bytes copied and synced
  cp -a "$work/station" "$dir/station"
  sk_import=$(measure "$sekisho" --station "$dir/station" case import "$pkg")
  gpgconf --homedir "$dir/station/gnupg" --kill all 2>/dev/null || true
  rm -rf "$dir/station"
  cp_sync=$(measure sh -c "cp '$pkg' '$dir/copy' && sync -f '$dir/copy'")
  for row in "pack:$sk_pack:$gpg_pack" "check:$sk_check:$gpg_check" \
    "import:$sk_import:$gpg_check" "cp+sync:$cp_sync:$gpg_check"; do
    what=${row%%:*}; rest=${row#*:}; sk=${rest%%:*}; g=${rest#*:}
    printf '%-6s %-22s %9s %9s %7s %11s %11s\n' "$size" "$what" "${sk% *}" "${g% *}" \
      "$(echo "scale=2; ${sk% *} / ${g% *}" | bc)" \
      "$(echo "scale=1; ${sk#* } / 1024" | bc)" "$(echo "scale=1; ${g#* } / 1024" | bc)"
  done
  rm -rf "$dir"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
