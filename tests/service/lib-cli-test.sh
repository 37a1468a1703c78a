# lib-cli-test.sh — what the CLI tests run inside sk-station-env share.
# Sourced after setting CLI (the sekisho binary), work (a folder for
# outputs) and PY (python3).

fail() {
  echo "FAIL: $*"
  exit 1
}
step() { echo "== $*"; }
as() {
  _u=$1
  shift
  setpriv --reuid="$_u" --regid="$_u" --init-groups -- "$@"
}
# run USER OUT ARG…: the CLI as USER, stdout into OUT.out, stderr into
# OUT.err; prints the exit status.
run() {
  _u=$1
  _o=$2
  shift 2
  set +e
  as "$_u" "$CLI" "$@" > "$work/$_o.out" 2> "$work/$_o.err"
  echo $?
  set -e
}
# expect CODE NAME STATUS: the run NAME ended with CODE.
expect() {
  [ "$1" = "$3" ] || {
    echo "--- $2: stdout"; cat "$work/$2.out"
    echo "--- $2: stderr"; cat "$work/$2.err"
    fail "$2 exited $3, want $1"
  }
}
# json NAME EXPR: EXPR (Python, on the JSON object j) of the run NAME's stdout.
json() {
  $PY -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
    "$work/$1.out" "$2"
}
