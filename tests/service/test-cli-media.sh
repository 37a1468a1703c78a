#!/bin/sh
# test-cli-media.sh — the media commands of the command line against the
# real sekishod, as its users, inside the whole-station harness:
#
#   sk-station-env -- sh test-cli-media.sh CLI ENV
#
# (ENV: sk-station-env itself, for `ctl plug` and `ctl unplug`.)
#
# A disc registered before it is burned through the service (`media
# register --disc-out DIR` without --station): the administrator's token
# files in DIR, the row in the register; an operator refused with nothing
# left in DIR; a folder that already holds a token refused, untouched.
# `media list --devices` in-process journals nothing; --tokens there is
# refused while sekishod runs, and answered through it.
set -eu
CLI=$1
ENV_BIN=$2
PY=/usr/bin/python3

work=$SK_ENV_DIR/cli-media-test
mkdir -p "$work"
chmod 1777 "$work"

. "$(dirname "$0")/lib-cli-test.sh"
folder() { mkdir -p "$work/$2"; chown "$1" "$work/$2"; chmod 700 "$work/$2"; }

step "a disc registered before it is burned, through the service"
folder skadm disc
rc=$(run skadm disc --json media register --disc-out "$work/disc" --number CD-0201 --label 月次)
expect 0 disc "$rc"
[ "$(json disc 'j["medium"]["number"]')" = CD-0201 ] || fail "no row for CD-0201"
[ "$(json disc 'j["medium"]["kind"]')" = optical ] || fail "the disc's row is not optical"
[ -s "$work/disc/.sekisho-medium.json" ] && [ -s "$work/disc/.sekisho-medium.json.sig" ] \
  || fail "the token files are not in the folder"
[ "$(stat -c %U "$work/disc/.sekisho-medium.json")" = skadm ] \
  || fail "the token file is not the administrator's"
$PY -c 'import json,sys; t=json.load(open(sys.argv[1])); assert t["number"] == "CD-0201", t' \
  "$work/disc/.sekisho-medium.json" || fail "the token names another number"
rc=$(run skaud register --json media list)
expect 0 register "$rc"
[ "$(json register '[r["kind"] for r in j["register"] if r["number"] == "CD-0201"]')" = "['optical']" ] \
  || fail "the register does not hold CD-0201"

step "a folder that already holds a token is refused and left alone"
sum=$(sha256sum "$work/disc/.sekisho-medium.json")
rc=$(run skadm disc-again --json media register --disc-out "$work/disc" --number CD-0202)
expect 2 disc-again "$rc"
[ "$(json disc-again 'j["reason"]')" = usage ] || fail "a second token was not a usage error"
[ "$(sha256sum "$work/disc/.sekisho-medium.json")" = "$sum" ] || fail "the first token was changed"

step "an operator may not register a disc, and nothing is left behind"
folder skop1 disc-op
rc=$(run skop1 disc-op --json media register --disc-out "$work/disc-op" --number CD-0203)
expect 1 disc-op "$rc"
[ "$(json disc-op 'j["reason"]')" = role-denied ] || fail "the operator was not role-denied"
[ -z "$(ls -A "$work/disc-op")" ] || fail "the refused registration left files: $(ls -A "$work/disc-op")"

# rows ARGS…: how many journal entries `journal show ARGS` lists, read
# in-process off the service's station.
rows() {
  "$CLI" --station "$SK_ENV_STATION" --json journal show "$@" > "$work/rows.out"
  json rows 'len(j["entries"])'
}

step "media list --devices in-process reads no token and journals nothing"
# (The harness gives its command no view of the mocked devices: what an
# in-process list shows of them is tested in test-media /media/look-only.)
truncate -s 32M "$work/look.img"
mkfs.ext4 -q -F "$work/look.img"
"$ENV_BIN" ctl plug look "$work/look.img" --serial SKT-LOOK --vendor Sekisho --model Look \
  > "$work/plug.out" || fail "plug failed"
for _ in $(seq 100); do
  as skadm "$CLI" --json media list --devices > "$work/svc.out" 2> /dev/null || true
  grep -q SKT-LOOK "$work/svc.out" && break
  sleep 0.05
done
grep -q SKT-LOOK "$work/svc.out" || fail "the service did not see the stick"
inserted=$(rows --event media-inserted)
rc=$(run root look --json --station "$SK_ENV_STATION" media list --devices)
expect 0 look "$rc"
[ "$(rows --event media-inserted)" = "$inserted" ] || fail "the in-process list journaled media"

step "--tokens in-process is refused while sekishod follows the media; through it, it answers"
rc=$(run root look-tokens --json --station "$SK_ENV_STATION" media list --devices --tokens)
expect 2 look-tokens "$rc"
[ "$(json look-tokens 'j["reason"]')" = usage ] || fail "--tokens beside the service was not refused"
grep -q sekishod "$work/look-tokens.out" || fail "the refusal does not say why"
[ "$(rows --event media-inserted)" = "$inserted" ] || fail "the refused list journaled media"
rc=$(run skop1 look-svc --json media list --devices --tokens)
expect 0 look-svc "$rc"
[ "$(json look-svc '[m["registered"] for m in j["inserted"] if m["serial"] == "SKT-LOOK"]')" = "[False]" ] \
  || fail "the service did not tell the stick's registration: $(cat "$work/look-svc.out")"
"$ENV_BIN" ctl unplug look | grep -q '^ok' || fail "unplug failed"
echo PASS
