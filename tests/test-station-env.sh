#!/bin/sh
# The whole-station harness (sk-station-env) does what the tests, the demo
# and the GUI harness rely on: the service answers on the private bus, roles
# come from the test users' groups through polkit, mocked sticks plug over
# real loop devices, the command's status is the run's, and nothing (loop
# device, folder) outlives the run.
set -eu
ENV_BIN=$1
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: needs root"
  exit 77
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# The command's exit status is the run's.
set +e
"$ENV_BIN" --no-service -- sh -c 'exit 7'
status=$?
set -e
[ "$status" = 7 ] || { echo "FAIL: exit status $status, want 7"; exit 1; }

cat > "$out/inside.sh" <<'INSIDE'
set -eu
out=$1
echo "$SK_ENV_DIR" > "$out/envdir"
for f in policy.json policy.json.sig admin.pub standard.pub terminal.pub; do
  [ -r "$SK_ENV_DIR/files/$f" ] || { echo "FAIL: files/$f missing"; exit 1; }
done
[ -d "$SK_ENV_STATION" ] && [ -d "$SK_ENV_STANDARD" ] && [ -d "$SK_ENV_HANDOFF" ] \
  || { echo "FAIL: station folders missing"; exit 1; }
[ -d "$SK_ENV_GNUPG_ADMIN" ] || { echo "FAIL: no admin GnuPG home"; exit 1; }

# An operator may list cases; a person with no role may not.
as() { u=$1; shift; setpriv --reuid="$u" --regid="$u" --init-groups -- "$@"; }
id -nG skop1 | grep -qw sekisho-operator || { echo "FAIL: skop1 is no operator"; exit 1; }
list='gdbus call --system --dest jp.sekisho.Station1 --object-path /jp/sekisho/Station1
      --method jp.sekisho.Station1.Cases.List'
as skop1 $list > /dev/null || { echo "FAIL: operator could not list cases"; exit 1; }
if as sknone $list > "$out/denied" 2>&1; then
  echo "FAIL: a caller with no role listed cases"; exit 1
fi
grep -q 'jp.sekisho.Error' "$out/denied" || { echo "FAIL: denial is no sekisho error:"; cat "$out/denied"; exit 1; }

# The service writes no core file, whatever the limits it was started with
# (sk-process.h: its memory holds the store's keys).
pid=$(pidof sekishod)
grep -Eq '^Max core file size +0 +0 ' "/proc/$pid/limits" \
  || { echo "FAIL: sekishod may dump core:"; grep core "/proc/$pid/limits"; exit 1; }

# A stick over a real loop device, plugged and pulled.
truncate -s 16M "$out/stick.img"
mkfs.ext4 -q -F "$out/stick.img"
reply=$(sk-station-env ctl plug s1 "$out/stick.img" --serial SKT-0001)
case $reply in
  "ok /sys/"*" /dev/loop"*) ;;
  *) echo "FAIL: plug answered: $reply"; exit 1 ;;
esac
losetup -j "$out/stick.img" | grep -q /dev/loop || { echo "FAIL: no loop device"; exit 1; }
if sk-station-env ctl plug s1 "$out/stick.img" > /dev/null; then
  echo "FAIL: the same name plugged twice"; exit 1
fi
sk-station-env ctl unplug s1 > /dev/null
# The service reads a stick's token when it comes; pulled meanwhile, the
# loop device goes once the service let go of it (detached lazily).
for _ in $(seq 50); do [ -z "$(losetup -j "$out/stick.img")" ] && break; sleep 0.1; done
[ -z "$(losetup -j "$out/stick.img")" ] || { echo "FAIL: loop device left after unplug"; exit 1; }
# A stick left plugged: the run must detach it.
cp "$out/stick.img" "$SK_ENV_DIR/left.img"
sk-station-env ctl plug s2 "$SK_ENV_DIR/left.img" > /dev/null
echo inside-ok
INSIDE
PATH=$(dirname "$ENV_BIN"):$PATH "$ENV_BIN" -- sh "$out/inside.sh" "$out" | tee "$out/log"
grep -q inside-ok "$out/log" || { echo "FAIL: the inside checks did not pass"; exit 1; }
envdir=$(cat "$out/envdir")
[ ! -e "$envdir" ] || { echo "FAIL: $envdir left behind"; exit 1; }
if losetup --list --noheadings --output BACK-FILE | grep -F "$envdir" ; then
  echo "FAIL: a loop device of the run is still attached"; exit 1
fi

# Interrupted from outside: everything stops, nothing is left.
cat > "$out/wait.sh" <<'WAIT'
cp "$1/stick.img" "$SK_ENV_DIR/w.img"
sk-station-env ctl plug w "$SK_ENV_DIR/w.img" > /dev/null
echo "$SK_ENV_DIR" > "$1/envdir2"
exec sleep 120
WAIT
PATH=$(dirname "$ENV_BIN"):$PATH "$ENV_BIN" -- sh "$out/wait.sh" "$out" &
pid=$!
for _ in $(seq 100); do [ -s "$out/envdir2" ] && break; sleep 0.1; done
[ -s "$out/envdir2" ] || { echo "FAIL: the interrupted run never started"; exit 1; }
kill -TERM "$pid"
set +e
wait "$pid"
status=$?
set -e
[ "$status" != 0 ] || { echo "FAIL: an interrupted run exited 0"; exit 1; }
envdir=$(cat "$out/envdir2")
[ ! -e "$envdir" ] || { echo "FAIL: $envdir left behind after SIGTERM"; exit 1; }
if losetup --list --noheadings --output BACK-FILE | grep -F "$envdir" ; then
  echo "FAIL: a loop device of the interrupted run is still attached"; exit 1
fi
echo "PASS"
