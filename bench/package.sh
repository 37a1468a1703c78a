#!/bin/sh
# Benchmark (not a test): `sekisho pack` against `gpg --sign` + `gpg --encrypt`,
# and `sekisho check` against `gpg --verify` + `gpg -d`, on the same generated
# KNY01 data at 50 MB and 500 MB, in the same run, with peak RSS of each.
# The check-gpgme-floor row is the verify and decrypt alone through GPGME
# (bench-gpgme): the part of check's cost that is GPGME's, not ours.
# Targets (DESIGN.md §10): ratios ≤ 1.25, sekisho under 64 MiB at both sizes.
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

  # the floor: the same verify and decrypt through GPGME alone (to
  # /dev/null, nothing parsed), as sekisho's keyring door makes them
  gpgme_floor=$(measure "$SK_TOP/_build/bench/bench-gpgme" "$term" "$pkg" "$STANDARD")
  for row in "pack:$sk_pack:$gpg_pack" "check:$sk_check:$gpg_check" \
    "check-gpgme-floor:$gpgme_floor:$gpg_check"; do
    what=${row%%:*}; rest=${row#*:}; sk=${rest%%:*}; g=${rest#*:}
    printf '%-6s %-22s %9s %9s %7s %11s %11s\n' "$size" "$what" "${sk% *}" "${g% *}" \
      "$(echo "scale=2; ${sk% *} / ${g% *}" | bc)" \
      "$(echo "scale=1; ${sk#* } / 1024" | bc)" "$(echo "scale=1; ${g#* } / 1024" | bc)"
  done
  rm -rf "$dir"
done
