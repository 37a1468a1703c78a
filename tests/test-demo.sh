#!/bin/sh
# The README's demo of the whole station (scripts/demo-station inside
# sk-station-env) ends well within its time limit, with every case closed
# and a screenshot of the app per role, and leaves nothing behind: no
# process, mount or loop device of its run, and not its folder.
#
#   test-demo.sh SK-STATION-ENV BUILD-ROOT SOURCE-ROOT
set -eu
env_bin=$1 build=$2 src=$3
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: the whole station needs root"
  exit 77
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
limit=${SK_DEMO_TIME_LIMIT:-240}

start=$(date +%s)
set +e
SK_DEMO_BUILD=$build SK_DEMO_SHOTS=$out/shots SK_DEMO_ENV_FILE=$out/envdir \
  timeout --signal=TERM --kill-after=20 "$limit" \
  "$env_bin" -- "$src/scripts/demo-station" >"$out/log" 2>&1
status=$?
set -e
echo "the demo ran $(($(date +%s) - start)) s (limit $limit s), status $status"
if [ "$status" != 0 ]; then
  tail -n 40 "$out/log"
  echo "FAIL: the demo exited $status"
  exit 1
fi
grep -q '^4 cases\.' "$out/log" || { echo "FAIL: the demo did not list its 4 cases"; exit 1; }
for shot in operator auditor admin no-role; do
  [ -s "$out/shots/$shot.png" ] || { echo "FAIL: no screenshot $shot.png"; exit 1; }
done

envdir=$(cat "$out/envdir")
case $envdir in
  /*/sk-env-*) ;;
  *) echo "FAIL: the demo's run folder is unknown: '$envdir'"; exit 1 ;;
esac
status=0
[ ! -e "$envdir" ] || { echo "FAIL: $envdir is left behind"; status=1; }
if losetup --list --noheadings --output BACK-FILE | grep -F "$envdir"; then
  echo "FAIL: a loop device of the run is still attached"
  status=1
fi
if grep -F "$envdir" /proc/self/mountinfo; then
  echo "FAIL: a mount of the run is left"
  status=1
fi
# (The folder's name is passed in the environment, so that the search does
# not find itself.)
for cmdline in /proc/[0-9]*/cmdline; do
  line=$(tr '\0' ' ' 2>/dev/null <"$cmdline") || continue
  if printf '%s\n' "$line" | DIR=$envdir awk 'index($0, ENVIRON["DIR"]) { found = 1 } END { exit !found }'; then
    echo "FAIL: a process of the run is left: $line"
    status=1
  fi
done
[ $status -ne 0 ] || echo "PASS: nothing of $envdir outlived the demo"
exit $status
