#!/bin/sh
# unit.systemd: the shipped unit (systemd/bluetti-bridge.service) works in both login modes.
#   1. every LoadCredential= has a SetCredential= default of the same name, so systemd (>= 250,
#      systemd.exec(5)) starts the unit when the file is missing (certificate mode has none);
#      the default is an empty line; LimitCORE=0 is set;
#   2. `systemd-analyze verify` accepts the unit with no warning (the ExecStart pointed at the built
#      daemon) - an empty SetCredential= value, for one, is "Invalid syntax" on systemd 252;
#   3. the daemon, given $CREDENTIALS_DIRECTORY as systemd fills it, behaves right: the default
#      credential does not count as a password (account mode without one is an error naming the
#      sources), a real one does, and certificate mode does not care.
#
#   systemd_unit_test.sh SOURCE_DIR BRIDGE_BINARY
#
# Exit 0 pass, 1 fail; step 2 is skipped (not failed) without systemd-analyze.
set -eu

source=${1:?usage: systemd_unit_test.sh SOURCE_DIR BRIDGE_BINARY}
bridge=${2:?usage: systemd_unit_test.sh SOURCE_DIR BRIDGE_BINARY}
unit=$source/systemd/bluetti-bridge.service
failures=0
fail() { printf "FAIL: %s\n" "$*" >&2; failures=$((failures + 1)); }
ok() { printf "ok: %s\n" "$*"; }

scratch=$(mktemp -d "${TMPDIR:-/tmp}/bluetti-unit-test.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# --- 1. the credential lines ---------------------------------------------------------------------------
loads=$(sed -n 's/^LoadCredential=\([^:]*\):.*/\1/p' "$unit")
[ -n "$loads" ] || fail "the unit has no LoadCredential= line"
for id in $loads; do
	value=$(sed -n "s/^SetCredential=$id://p" "$unit")
	if [ "$value" = '\n' ]; then ok "LoadCredential=$id has the default SetCredential=$id:\\n"; else
		fail "LoadCredential=$id has no SetCredential=$id:\\n default (got '$value'): the unit fails to start without the file"; fi
done
if grep -qx 'LimitCORE=0' "$unit"; then ok "LimitCORE=0"; else fail "LimitCORE=0 is missing"; fi

# --- 2. systemd-analyze verify ------------------------------------------------------------------------
if command -v systemd-analyze >/dev/null 2>&1; then
	sed "s|^ExecStart=/usr/bin/bluetti-bridge|ExecStart=$bridge|" "$unit" >"$scratch/bluetti-bridge.service"
	if systemd-analyze verify --man=no "$scratch/bluetti-bridge.service" >"$scratch/verify.log" 2>&1 && [ ! -s "$scratch/verify.log" ]; then
		ok "systemd-analyze verify: no complaint"
	else
		cat "$scratch/verify.log" >&2
		fail "systemd-analyze verify complained"
	fi
else
	echo "skipped: systemd-analyze is not installed"
fi

# --- 3. the daemon with the credentials systemd hands over --------------------------------------------
mkdir -p "$scratch/creds-default" "$scratch/creds-password" "$scratch/state"
printf '\n' >"$scratch/creds-default/bluetti-password"             # SetCredential=bluetti-password:\n
printf 'correct horse\n' >"$scratch/creds-password/bluetti-password"  # LoadCredential= from the file
printf 'not a real bundle' >"$scratch/client.p12"
cat >"$scratch/account.yaml" <<YAML
cloud:
  email: me@example.com
  password_file: $scratch/missing.password
homeassistant:
  broker: mqtt://127.0.0.1
state_dir: $scratch/state
YAML
cat >"$scratch/certificate.yaml" <<YAML
cloud:
  certificate: $scratch/client.p12
  certificate_password: pfx
  mqtt_username: tid:x
  mqtt_password: secret
homeassistant:
  broker: mqtt://127.0.0.1
devices:
  - serial: "2345000000002"
    model: EL100V2
    sub_sn: SUB1
state_dir: $scratch/state
YAML
run() {  # run CREDENTIALS_DIR CONFIG: --check-config as the unit would start it, output in $out
	out=$(env -u BLUETTI_PASSWORD CREDENTIALS_DIRECTORY="$1" "$bridge" --check-config --config "$2" 2>&1) && status=0 || status=$?
}
run "$scratch/creds-default" "$scratch/account.yaml"
if [ "$status" = 2 ] && printf '%s' "$out" | grep -q "cloud.password_file '$scratch/missing.password' cannot be read"; then
	ok "account mode, default credential only: refused, naming cloud.password_file"
else fail "account mode with the default credential: status $status: $out"; fi
run "$scratch/creds-password" "$scratch/account.yaml"
if [ "$status" = 0 ]; then ok "account mode, password credential: OK"; else fail "account mode with the password credential: $out"; fi
run "$scratch/creds-default" "$scratch/certificate.yaml"
if [ "$status" = 0 ]; then ok "certificate mode, default credential: OK"; else fail "certificate mode with the default credential: $out"; fi

[ "$failures" -eq 0 ] || { echo "$failures failure(s)" >&2; exit 1; }
echo "all passed"
