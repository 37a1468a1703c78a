# lib-station.sh — sourced by scripts/demo-in-process and bench/: make demo keys, an
# administrator's workstation, a signed default policy and an integration
# terminal station under one directory.  Demo keys only: made on the spot,
# never for real use.
# shellcheck shell=sh

# run CMD…: print the command (with the demo directory shortened, and the
# hand-off root too when SK_HANDOFF_DIR names one), then run it.
run() {
  _sk_short="s|$SK_DEMO_DIR|\$DEMO|g; s|[^ ]*/_build/cli/||; s|$SK_TOP/||g"
  if [ -n "${SK_HANDOFF_DIR:-}" ]; then
    _sk_short="s|$SK_HANDOFF_DIR|\$HANDOFF|g; $_sk_short"
  fi
  printf '$ %s\n' "$*" | sed "$_sk_short"
  "$@"
}

_gen_key() {
  gpg --homedir "$1" --batch --quiet --pinentry-mode loopback --passphrase '' \
    --quick-gen-key "$2" ed25519 sign never 2>/dev/null
  gpg --homedir "$1" --with-colons --list-keys "$2" | awk -F: '/^fpr/ { print $10; exit }'
}

# make_demo_station DIR SEKISHO: sets ADMIN, STATION and STANDARD to the
# fingerprints, and leaves DIR/admin, DIR/station, DIR/policy.json(.sig).
make_demo_station() {
  SK_DEMO_DIR=$1
  SK_TOP=${SK_TOP:-$(pwd)}
  _sk=$2
  _keys="$1/keys"
  mkdir -m 700 "$_keys"
  ADMIN=$(_gen_key "$_keys" "Sekisho demo policy administrator <admin@demo.invalid>")
  STATION=$(_gen_key "$_keys" "Sekisho demo integration terminal <station@demo.invalid>")
  STANDARD=$(_gen_key "$_keys" "Sekisho demo standard system <standard@demo.invalid>")
  for fpr in "$STATION" "$STANDARD"; do
    gpg --homedir "$_keys" --batch --quiet --pinentry-mode loopback --passphrase '' \
      --quick-add-key "$fpr" cv25519 encr never
  done
  echo "administrator  $ADMIN"
  echo "station        $STATION"
  echo "standard side  $STANDARD"
  gpg --homedir "$_keys" --batch --export "$ADMIN" "$STANDARD" > "$1/public.gpg"
  gpg --homedir "$_keys" --batch --pinentry-mode loopback --passphrase '' \
    --export-secret-keys "$ADMIN" > "$1/admin-secret.gpg"
  gpg --homedir "$_keys" --batch --pinentry-mode loopback --passphrase '' \
    --export-secret-keys "$STATION" > "$1/station-secret.gpg"

  run "$_sk" --station "$1/admin" station init --admin-key "$ADMIN" --signing-key "$ADMIN" \
    --name demo-admin
  run "$_sk" --station "$1/admin" key import "$1/admin-secret.gpg"
  run "$_sk" policy set-keys "$SK_TOP/policies/default.json" --out "$1/policy.json" \
    --admin "$ADMIN" \
    --to-intermediate-signer "$STANDARD" --to-intermediate-recipient "$STATION" \
    --to-standard-signer "$STATION" --to-standard-recipient "$STANDARD"
  run "$_sk" --station "$1/admin" policy sign --key "$ADMIN" "$1/policy.json"

  run "$_sk" --station "$1/station" station init --admin-key "$ADMIN" \
    --signing-key "$STATION" --name demo-terminal
  run "$_sk" --station "$1/station" key import "$1/public.gpg"
  run "$_sk" --station "$1/station" key import "$1/station-secret.gpg"
  run "$_sk" --station "$1/station" policy install "$1/policy.json"
}

# make_standard_station DIR SEKISHO: after make_demo_station, the 標準システム
# side's station in DIR/standard, signing with the standard key.
make_standard_station() {
  _sk=$2
  gpg --homedir "$1/keys" --batch --export "$STATION" "$ADMIN" > "$1/for-standard.gpg"
  gpg --homedir "$1/keys" --batch --pinentry-mode loopback --passphrase '' \
    --export-secret-keys "$STANDARD" > "$1/standard-secret.gpg"
  run "$_sk" --station "$1/standard" station init --admin-key "$ADMIN" \
    --signing-key "$STANDARD" --name demo-standard
  run "$_sk" --station "$1/standard" key import "$1/for-standard.gpg"
  run "$_sk" --station "$1/standard" key import "$1/standard-secret.gpg"
  run "$_sk" --station "$1/standard" policy install "$1/policy.json"
}

# stop_demo_agents DIR: the gpg-agents the demo's homes started.
stop_demo_agents() {
  for home in "$1/keys" "$1/admin/gnupg" "$1/station/gnupg" "$1/standard/gnupg"; do
    [ -d "$home" ] && gpgconf --homedir "$home" --kill all 2>/dev/null
  done
  return 0
}
