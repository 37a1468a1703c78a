#!/bin/sh
# test-cli-service.sh — the command line against the real sekishod, as its
# users (issue 11 item 5), inside the whole-station harness:
#
#   sk-station-env -- sh test-cli-service.sh service|media CLI SYNTH ENV
#   sk-station-env --no-service -- sh test-cli-service.sh unreachable CLI SYNTH ENV
#
# (ENV: sk-station-env itself, for `ctl plug` and `ctl unplug`.)
#
# With the service: the four workflows end to end through `sekisho` without
# --station, as skop1 (operator), skop2 (the second operator of SKI03's
# dual control) and skaud (the auditor, who verifies and exports the
# journal and checks the export off the station); an auditor importing is
# refused with role-denied; `case list --json` is the same object through
# the service as in-process on the same station; Ctrl-C during the import
# of a 40 MB package cancels the job in the service within a second, exits
# 130 and leaves no case, no store item and a journal that verifies (a
# second Ctrl-C too).
# Media: an administrator registers a stick, an operator imports from it
# and exports to it with --medium (read back), and a stick nobody
# registered takes no export.
# Without the service: service-unreachable, exit 3, and what to do.
set -eu
mode=$1
CLI=$2
SYNTH=$3
ENV_BIN=$4
PY=/usr/bin/python3

work=$SK_ENV_DIR/cli-test
mkdir -p "$work"
chmod 755 "$work"
policy=$SK_ENV_DIR/files/policy.json

. "$(dirname "$0")/lib-cli-test.sh"

# A user-owned folder (a medium the operator carries, an auditor's desk).
folder() {
  mkdir -p "$work/$2"
  chown "$1:$1" "$work/$2"
  chmod 755 "$work/$2"
}

if [ "$mode" = unreachable ]; then
  step "no service on the bus: service-unreachable, exit 3, what to do"
  rc=$(run skop1 none --json case list)
  expect 3 none "$rc"
  [ "$(json none 'j["reason"]')" = service-unreachable ] || fail "reason is not service-unreachable"
  json none 'j["message"]' | grep -q "systemctl start sekishod" || fail "the message says not what to do"
  json none 'j["message"]' | grep -q -- "--station" || fail "the message does not name --station"
  rc=$(run skop1 none-text case list)
  expect 3 none-text "$rc"
  grep -q "service-unreachable" "$work/none-text.err" || fail "the text names no reason"
  # A job's method too, and a bus that is not there at all.
  folder skop1 nothing
  rc=$(run skop1 none-import case import "$work/nothing")
  [ "$rc" != 0 ] || fail "an import without the service succeeded"
  set +e
  DBUS_SYSTEM_BUS_ADDRESS=unix:path=$work/no-bus as skaud "$CLI" --json journal verify \
    > "$work/no-bus.out" 2> "$work/no-bus.err"
  rc=$?
  set -e
  expect 3 no-bus "$rc"
  [ "$(json no-bus 'j["reason"]')" = service-unreachable ] || fail "no bus is not service-unreachable"
  echo PASS
  exit 0
fi

op1=$(id -u skop1)
handoff_up=$SK_ENV_HANDOFF/upload/$op1
handoff_down=$SK_ENV_HANDOFF/download/$op1

# pack WORKFLOW CASE MEDIUM FILE…: on the 標準システム side, onto a medium
# folder the operator can read.
pack() {
  _wf=$1
  _case=$2
  _medium=$3
  shift 3
  folder skop1 "$_medium"
  "$CLI" --station "$SK_ENV_STANDARD" pack --workflow "$_wf" --case "$_case" \
    --out "$work/$_medium" "$@" > /dev/null
  chmod 644 "$work/$_medium"/*
}
# synth DIR KIND SEED CASE [RECORDS]: one synthetic file.
synth() {
  mkdir -p "$work/$1"
  "$SYNTH" --policy "$policy" --out "$work/$1" --kind "$2" --seed "$3" --case "$4" \
    --records "${5:-20}" > /dev/null
  chmod -R a+rX "$work/${1%%/*}"
}
# browser FILE…: the 中間サーバー's results saved by skop1's browser.
browser() {
  for f in "$@"; do
    as skop1 cp "$f" "$handoff_down/"
  done
}
# outbound WF CASE KIND…: request files packed, imported by skop1, handed
# off and confirmed uploaded.
outbound() {
  _wf=$1
  _case=$2
  shift 2
  for k in "$@"; do synth "$_wf/request" "$k" 7 "$_case"; done
  pack "$_wf" "$_case" "$_wf-in" "$work/$_wf/request"/*
  rc=$(run skop1 "$_wf-import" --json case import "$work/$_wf-in")
  expect 0 "$_wf-import" "$rc"
  [ "$(json "$_wf-import" 'j["imported"][0]["id"]')" = "$_case" ] || fail "$_wf: imported no case $_case"
  rc=$(run skop1 "$_wf-handoff" case hand-off "$_case")
  expect 0 "$_wf-handoff" "$rc"
  [ -n "$(ls -A "$handoff_up")" ] || fail "$_wf: nothing in the upload folder"
  rc=$(run skop1 "$_wf-confirm" case confirm-upload "$_case")
  expect 0 "$_wf-confirm" "$rc"
}
# inbound WF CASE N: the results exported by skop1 onto a new medium and
# unpacked on the 標準システム side.
inbound() {
  folder skop1 "$1-out$3"
  rc=$(run skop1 "$1-export$3" --json case export --out "$work/$1-out$3" "$2")
  expect 0 "$1-export$3" "$rc"
  _pkg=$(json "$1-export$3" 'j["package"]')
  [ -f "$_pkg" ] || fail "$1: no package at $_pkg"
  mkdir -p "$work/$1-received$3"
  "$CLI" --station "$SK_ENV_STANDARD" unpack --out "$work/$1-received$3" "$_pkg" > /dev/null \
    || fail "$1: the standard side did not unpack the export"
}

# The operator's download folder is made when first asked for.
rc=$(run skop1 empty --json case take-in)
expect 1 empty "$rc"
[ "$(json empty 'j["reason"]')" = case-state ] || fail "an empty download folder is not case-state"

# medium_id USER NUMBER|-: the id of the inserted medium registered as
# NUMBER (- : the one not registered), once the service has seen it.
medium_id() {
  for _ in $(seq 100); do
    as "$1" "$CLI" --json media list --devices > "$work/devices.out" 2> /dev/null || true
    _id=$($PY - "$work/devices.out" "$2" <<'PY'
import json, sys
n = None if sys.argv[2] == "-" else sys.argv[2]
try:
    j = json.load(open(sys.argv[1]))
except Exception:
    sys.exit(0)
for m in j.get("inserted", []):
    if m.get("number") == n and m.get("refused") in (None, "media-unregistered"):
        print(m["id"])
        break
PY
)
    [ -n "$_id" ] && { echo "$_id"; return; }
    sleep 0.05
  done
  fail "no inserted medium ${2} seen by $1: $(cat "$work/devices.out")"
}
plug() { "$ENV_BIN" ctl plug "$@" | grep -q '^ok ' || fail "plug $1 failed"; }
unplug() { "$ENV_BIN" ctl unplug "$1" | grep -q '^ok' || fail "unplug $1 failed"; }

if [ "$mode" = media ]; then
  step "media: an administrator registers a stick; an operator imports from it and exports to it"
  mkdir -p "$work/mnt"
  truncate -s 64M "$work/stick.img"
  mkfs.ext4 -q -F "$work/stick.img"
  plug s1 "$work/stick.img" --serial SKT-0001 --vendor Sekisho --model Test
  m=$(medium_id skadm -)
  rc=$(run skadm register --json media register --medium "$m" --number USB-0001 --label test)
  expect 0 register "$rc"
  unplug s1
  # The stick travels to the 標準システム, which puts a package on it.
  synth medium KNY01 10 C0000000000000000017
  pack subscriber C0000000000000000017 medium-in "$work/medium"/*
  mount -o loop "$work/stick.img" "$work/mnt"
  cp "$work/medium-in"/* "$work/mnt/"
  umount "$work/mnt"
  plug s1 "$work/stick.img" --serial SKT-0001 --vendor Sekisho --model Test
  m=$(medium_id skop1 USB-0001)
  rc=$(run skop1 medium-import --json case import --medium "$m")
  expect 0 medium-import "$rc"
  [ "$(json medium-import 'j["packages"][0]["case"]["id"]')" = C0000000000000000017 ] \
    || fail "the medium's package made no case: $(cat "$work/medium-import.out")"
  rc=$(run skop1 medium-handoff case hand-off C0000000000000000017)
  expect 0 medium-handoff "$rc"
  rc=$(run skop1 medium-confirm case confirm-upload C0000000000000000017)
  expect 0 medium-confirm "$rc"
  synth medium-result KNY02 10 C0000000000000000017
  browser "$work/medium-result"/*
  rc=$(run skop1 medium-takein case take-in)
  expect 0 medium-takein "$rc"
  # A stick nobody registered takes no export, and nothing is written to it.
  truncate -s 64M "$work/stranger.img"
  mkfs.ext4 -q -F "$work/stranger.img"
  plug s2 "$work/stranger.img" --serial SKT-0002
  m2=$(medium_id skop1 -)
  rc=$(run skop1 stranger --json case export --medium "$m2" C0000000000000000017)
  expect 1 stranger "$rc"
  [ "$(json stranger 'j["reason"]')" = media-unregistered ] || fail "an unregistered stick took an export"
  unplug s2
  rc=$(run skop1 medium-export --json case export --medium "$m" C0000000000000000017)
  expect 0 medium-export "$rc"
  [ "$(json medium-export 'j["readback"]')" = match ] || fail "the export was not read back"
  [ "$(json medium-export 'j["number"]')" = USB-0001 ] || fail "the export names no 管理番号"
  unplug s1
  mount -o loop,ro "$work/stick.img" "$work/mnt"
  pkg=$(json medium-export 'j["package"]')
  mkdir -p "$work/medium-received"
  "$CLI" --station "$SK_ENV_STANDARD" unpack --out "$work/medium-received" "$work/mnt/$pkg" \
    > /dev/null || { umount "$work/mnt"; fail "the standard side did not unpack the medium's export"; }
  umount "$work/mnt"

  step "journal show --json: the same bytes through the service and in-process, a device's name escaped alike"
  # A vendor name with a backslash and a right-to-left override, as a
  # device may report it: untrusted text, escaped the same in both modes.
  plug s3 "$work/stranger.img" --serial SKT-0003 --vendor "$(printf 'Se\\kisho\342\200\256')" \
    --model Test
  medium_id skop1 - > /dev/null
  unplug s3
  rc=$(run skaud jshow-media --json journal show --event media-inserted)
  expect 0 jshow-media "$rc"
  "$CLI" --station "$SK_ENV_STATION" --handoff-root "$SK_ENV_HANDOFF" --json journal show \
    --event media-inserted > "$work/jshow-media-local.out" || fail "journal show in-process failed"
  [ "$(json jshow-media 'any("kisho" in (e["device"] or "") for e in j["entries"])')" = True ] \
    || fail "the stick with the odd vendor name is not in the journal"
  cmp "$work/jshow-media.out" "$work/jshow-media-local.out" \
    || fail "journal show --json differs between the service and in-process"
  echo PASS
  exit 0
fi

step "the four workflows through the service, as skop1"

outbound subscriber C0000000000000000011 KNY01
synth subscriber/result KNY02 7 C0000000000000000011
browser "$work/subscriber/result"/*
rc=$(run skop1 subscriber-takein --json case take-in)
expect 0 subscriber-takein "$rc"
inbound subscriber C0000000000000000011 1

outbound duplicate C0000000000000000012 FKH01 FKH02 FKH03
synth duplicate/result FKH09 7 C0000000000000000012
browser "$work/duplicate/result"/*
rc=$(run skop1 duplicate-takein case take-in)
expect 0 duplicate-takein "$rc"
inbound duplicate C0000000000000000012 1

outbound identity C0000000000000000014 JLS01
synth identity/result JLS02 7 C0000000000000000014
browser "$work/identity/result"/*
rc=$(run skop1 identity-takein case take-in)
expect 0 identity-takein "$rc"
inbound identity C0000000000000000014 1

outbound inquiry C0000000000000000013 SKI01
synth inquiry/result SKI02 7 C0000000000000000013
browser "$work/inquiry/result"/*
rc=$(run skop1 inquiry-takein case take-in)
expect 0 inquiry-takein "$rc"
inbound inquiry C0000000000000000013 1

step "SKI03 under dual control: skop1 may not approve it, skop2 does"
synth inquiry/later SKI03 7 C0000000000000000013
ski03=$(ls "$work/inquiry/later")
browser "$work/inquiry/later/$ski03"
rc=$(run skop1 ski03-takein --json case take-in)
expect 0 ski03-takein "$rc"
[ "$(json ski03-takein 'j["needs_approval"]')" = "['$ski03']" ] \
  || fail "the SKI03 take-in does not say it needs approval: $(cat "$work/ski03-takein.out")"
[ "$(json subscriber-takein 'j["needs_approval"]')" = "[]" ] || fail "a KNY02 take-in needs approval"
folder skop1 early
rc=$(run skop1 ski03-early --json case export --out "$work/early" C0000000000000000013)
expect 1 ski03-early "$rc"
[ "$(json ski03-early 'j["reason"]')" = dual-control ] || fail "an unapproved SKI03 left"
[ -z "$(ls -A "$work/early")" ] || fail "an unapproved export wrote to the medium"
rc=$(run skop1 ski03-self --json case approve C0000000000000000013 "$ski03")
expect 1 ski03-self "$rc"
[ "$(json ski03-self 'j["reason"]')" = dual-control ] || fail "skop1 approved its own take-in"
rc=$(run skop2 ski03-approve --json case approve C0000000000000000013 "$ski03")
expect 0 ski03-approve "$rc"
inbound inquiry C0000000000000000013 2

step "the journal names who did what, in which role"
rc=$(run skaud jshow --json journal show --case C0000000000000000013 --event result-approved)
expect 0 jshow "$rc"
[ "$(json jshow '[(e["login"], e["role"]) for e in j["entries"]]')" = "[('skop2', 'operator')]" ] \
  || fail "the approval is not skop2's: $(json jshow 'j["entries"]')"
[ "$(json jshow 'type(j["entries"][0]["details"]).__name__')" = dict ] \
  || fail "details through the service are not an object"

step "journal show through the service: a misspelt event is a usage error that suggests"
rc=$(run skaud typo --json journal show --event package-imprted)
expect 2 typo "$rc"
[ "$(json typo 'j["reason"]')" = usage ] || fail "a misspelt event is not a usage error"
json typo 'j["message"]' | grep -q "package-imported" || fail "the usage error suggests nothing"
rc=$(run skaud typo-reason --json journal show --reason sig-bda)
expect 2 typo-reason "$rc"
rc=$(run skaud no-rows --json journal show --event package-imported --reason sig-bad)
expect 0 no-rows "$rc"

step "an auditor importing is refused (role-denied), and it is journaled"
synth denied KNY01 8 C0000000000000000015
pack subscriber C0000000000000000015 denied-in "$work/denied"/*
rc=$(run skaud denied --json case import "$work/denied-in")
expect 1 denied "$rc"
[ "$(json denied 'j["reason"]')" = role-denied ] || fail "the auditor's import is not role-denied"
rc=$(run skaud denied-text case import "$work/denied-in")
expect 1 denied-text "$rc"
grep -q "role-denied" "$work/denied-text.err" || fail "the refusal does not say role-denied"
grep -q "auditor" "$work/denied-text.err" || fail "the refusal does not name the role"
rc=$(run skaud denials --json journal show --event role-denied)
expect 0 denials "$rc"
[ "$(json denials 'sum(1 for e in j["entries"] if e["login"] == "skaud")')" -ge 2 ] \
  || fail "the auditor's denials are not journaled"

step "the auditor verifies the journal, exports it and checks the export off the station"
rc=$(run skaud verify --json journal verify)
expect 0 verify "$rc"
folder skaud desk
# The local-time column in the caller's zone, passed to the service.
export TZ=Asia/Tokyo
rc=$(run skaud export --json journal export --headers ja --out "$work/desk/journal.csv")
expect 0 export "$rc"
# The same record in-process on the same station: the same bytes (the
# newest checkpoint is the export's, and nothing but it came after), and
# the same checkpoint.
"$CLI" --station "$SK_ENV_STATION" --handoff-root "$SK_ENV_HANDOFF" --json journal export \
  --headers ja --out "$work/local.csv" > "$work/local-export.out" || fail "journal export in-process failed"
unset TZ
[ "$(json local-export 'j["checkpoint_seq"]')" = "$(json export 'j["checkpoint_seq"]')" ] \
  || fail "the two exports end at different checkpoints"
cmp "$work/desk/journal.csv" "$work/local.csv" || fail "the CSV through the service differs from in-process"
cmp "$work/desk/journal.csv.checkpoint.json" "$work/local.csv.checkpoint.json" \
  || fail "the checkpoints of the two exports differ"
head -c 9 "$work/desk/journal.csv" | grep -q "連番" || fail "the CSV has no Japanese headers"
grep -q "+09:00" "$work/desk/journal.csv" || fail "the CSV's local times are not in the caller's zone"
"$CLI" --json journal verify --export "$work/local.csv" --checkpoint "$work/local.csv.checkpoint.json" \
  --key "$SK_ENV_DIR/files/terminal.pub" > /dev/null || fail "the in-process export does not verify"
rc=$(run skaud offline --json journal verify --export "$work/desk/journal.csv" \
  --checkpoint "$work/desk/journal.csv.checkpoint.json" --key "$SK_ENV_DIR/files/terminal.pub")
expect 0 offline "$rc"
[ "$(json offline 'j["entries"]')" = "$(json export 'j["rows"]')" ] || fail "the export's rows do not verify"
# The checkpoint kept on the auditor's desk, against the service's journal
# (Journal.VerifyCheckpoint); one with a byte changed is refused.
rc=$(run skaud kept --json journal verify --checkpoint "$work/desk/journal.csv.checkpoint.json")
expect 0 kept "$rc"
[ "$(json kept 'j["verdict"]')" = matches ] || fail "the kept checkpoint does not match"
[ "$(json kept 'j["checkpoint_seq"]')" = "$(json export 'j["checkpoint_seq"]')" ] \
  || fail "the kept checkpoint's seq differs"
as skaud sh -c "sed 's/\"seq\":/\"seq\":1/' '$work/desk/journal.csv.checkpoint.json' \
  > '$work/desk/forged.json' && cp '$work/desk/journal.csv.checkpoint.json.sig' '$work/desk/forged.json.sig'"
rc=$(run skaud forged --json journal verify --checkpoint "$work/desk/forged.json")
expect 1 forged "$rc"
[ "$(json forged 'j["verdict"]')" = signature ] || fail "a forged checkpoint is not refused by its signature"

step "case list --json: the same object through the service and in-process"
rc=$(run skop1 list-service --json case list)
expect 0 list-service "$rc"
"$CLI" --station "$SK_ENV_STATION" --handoff-root "$SK_ENV_HANDOFF" --json case list \
  > "$work/list-local.out" || fail "case list in-process failed"
$PY - "$work/list-service.out" "$work/list-local.out" <<'PY' || fail "case list differs"
import json, sys
def norm(v):
    # Seconds left run on while the two are asked: everything else is equal.
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items() if k != "seconds_left"}
    if isinstance(v, list):
        return [norm(x) for x in v]
    return v
a, b = (norm(json.load(open(p))) for p in sys.argv[1:3])
if a != b:
    print(json.dumps(a, sort_keys=True, indent=1))
    print(json.dumps(b, sort_keys=True, indent=1))
    sys.exit(1)
if len(a["cases"]) != 4:
    sys.exit("expected 4 cases, got %d" % len(a["cases"]))
PY

step "read-only commands in-process on a station the caller may read but not write"
# A copy of the station owned by skaud with every write bit off (the
# auditor's desk, a station on read-only media): the commands that only
# show answer, and nothing in the folder changes, not even a lock file.
ro=$work/ro-station
rm -rf "$ro"
cp -a "$SK_ENV_STATION" "$ro"
rm -f "$ro"/gnupg/S.* "$ro"/gnupg/*.lock
chown -R skaud:skaud "$ro"
chmod -R a-w "$ro"
snapshot() {
  (cd "$ro" && find . -printf '%p %y %m %s\n' | sort && find . -type f -exec sha256sum {} + | sort)
}
snapshot > "$work/ro-before"
first_case=$(json list-service 'j["cases"][0]["id"]')
for cmd in "case list" "case show $first_case" "station status" "key list" "policy show" \
  "journal verify" "journal show"; do
  name=ro-$(echo "$cmd" | cut -d' ' -f1-2 | tr ' ' -)
  # shellcheck disable=SC2086
  rc=$(run skaud "$name" --station "$ro" --json $cmd)
  expect 0 "$name" "$rc"
done
[ "$(json ro-case-list 'len(j["cases"])')" = 4 ] || fail "case list read-only lists no 4 cases"
snapshot > "$work/ro-after"
diff "$work/ro-before" "$work/ro-after" || fail "a read-only command changed the station"
chmod -R u+w "$ro"

step "Ctrl-C during the import of a 40 MB package: cancelled in the service"
synth big KNY01 9 C0000000000000000016 80000
pack subscriber C0000000000000000016 big-in "$work/big"/*
items_before=$("$CLI" --station "$SK_ENV_STATION" --handoff-root "$SK_ENV_HANDOFF" --json \
  station status | $PY -c 'import json,sys; print(json.load(sys.stdin)["store"]["items"])')
# interrupt N: the CLI importing the big package as skop1 on a terminal
# (so that it draws its bar: the bar's first frame says the job runs), then
# N SIGINTs; sets rc and ms (from the first signal to the CLI's end).
interrupt() {
  rm -f "$work/cli.pid" "$work/tty.log"
  script -qefc "sh -c 'echo \$\$ > $work/cli.pid; exec setpriv --reuid=skop1 --regid=skop1 \
    --init-groups -- $CLI case import $work/big-in'" "$work/tty.log" > /dev/null 2>&1 &
  _spid=$!
  for _ in $(seq 300); do
    grep -q "import" "$work/tty.log" 2> /dev/null && break
    sleep 0.02
  done
  grep -q "import" "$work/tty.log" || fail "the import never showed its progress"
  _t0=$(date +%s%N)
  kill -INT "$(cat "$work/cli.pid")"
  # A second one at once, if the CLI is still there to take it.
  [ "$1" = 1 ] || kill -INT "$(cat "$work/cli.pid")" 2> /dev/null || true
  set +e
  wait "$_spid"
  rc=$?
  set -e
  ms=$((($(date +%s%N) - _t0) / 1000000))
  echo "cancelled with $1 SIGINT in $ms ms, exit $rc"
  [ "$rc" = 130 ] || { cat "$work/tty.log"; fail "a cancelled import exited $rc, want 130"; }
  [ "$ms" -lt 1000 ] || fail "the cancelled import took $ms ms to end"
  grep -q "cancelled" "$work/tty.log" || fail "the CLI did not say the import was cancelled"
}
interrupt 1
rc=$(run skop1 after-cancel --json case show C0000000000000000016)
[ "$(json after-cancel 'j["reason"]')" = case-unknown ] || fail "the cancelled import left a case"
items_after=$("$CLI" --station "$SK_ENV_STATION" --handoff-root "$SK_ENV_HANDOFF" --json \
  station status | $PY -c 'import json,sys; print(json.load(sys.stdin)["store"]["items"])')
[ "$items_before" = "$items_after" ] || fail "the store holds $items_after items, was $items_before"
rc=$(run skaud verify-after --json journal verify)
expect 0 verify-after "$rc"
# A second Ctrl-C hurries nothing: the job still ends, and the package
# was never taken, so it imports whole afterwards (no replay).
interrupt 2
rc=$(run skop1 big-import --json case import "$work/big-in")
expect 0 big-import "$rc"
echo PASS
