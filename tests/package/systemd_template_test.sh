#!/bin/sh
# unit.systemd_template: systemd/bluetti-bridge@.service, one bridge per instance name.
#   1. per instance: its own config /etc/bluetti-bridge/%i.yaml, state directory bluetti-bridge-%i and
#      password credential from /etc/bluetti-bridge/%i.password;
#   2. otherwise the [Service] section is bluetti-bridge.service's, line for line (the same sandbox,
#      credentials defaults, watchdog);
#   3. `systemd-analyze verify` accepts an instance with no warning, and `systemd-analyze security`
#      rates its exposure at most 2.0 (both skipped without systemd-analyze).
# Instances side by side on one broker: tests/system/instances_system_test.cpp.
#
#   systemd_template_test.sh SOURCE_DIR BRIDGE_BINARY
set -eu

source=${1:?usage: systemd_template_test.sh SOURCE_DIR BRIDGE_BINARY}
bridge=${2:?usage: systemd_template_test.sh SOURCE_DIR BRIDGE_BINARY}
template=$source/systemd/bluetti-bridge@.service
single=$source/systemd/bluetti-bridge.service
failures=0
fail() { printf "FAIL: %s\n" "$*" >&2; failures=$((failures + 1)); }
ok() { printf "ok: %s\n" "$*"; }
expect() {  # expect LINE: the template has exactly this line
	if grep -qxF "$1" "$template"; then ok "$1"; else fail "the template lacks '$1'"; fi
}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/bluetti-template-test.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# --- 1. what each instance has of its own ---------------------------------------------------------------
expect 'ExecStart=/usr/bin/bluetti-bridge --config /etc/bluetti-bridge/%i.yaml'
expect 'StateDirectory=bluetti-bridge-%i'
expect 'LoadCredential=bluetti-password:/etc/bluetti-bridge/%i.password'

# --- 2. the rest of [Service] is the single unit's --------------------------------------------------------
service() {  # the [Service] lines of $1 without comments and without the three lines given
	sed -n '/^\[Service\]/,/^\[Install\]/p' "$1" | grep -v -e '^#' -e '^$' -e '^\[Install\]' | grep -vxF -e "$2" -e "$3" -e "$4"
}
service "$single" 'ExecStart=/usr/bin/bluetti-bridge --config /etc/bluetti-bridge/config.yaml' \
	'StateDirectory=bluetti-bridge' 'LoadCredential=bluetti-password:/etc/bluetti-bridge/account.password' >"$scratch/single"
service "$template" 'ExecStart=/usr/bin/bluetti-bridge --config /etc/bluetti-bridge/%i.yaml' \
	'StateDirectory=bluetti-bridge-%i' 'LoadCredential=bluetti-password:/etc/bluetti-bridge/%i.password' >"$scratch/template"
if cmp -s "$scratch/single" "$scratch/template"; then ok "[Service] is bluetti-bridge.service's apart from the instance's lines"; else
	diff "$scratch/single" "$scratch/template" >&2 || true
	fail "[Service] differs from bluetti-bridge.service"
fi

# --- 3. systemd-analyze -----------------------------------------------------------------------------------
if command -v systemd-analyze >/dev/null 2>&1; then
	sed "s|^ExecStart=/usr/bin/bluetti-bridge|ExecStart=$bridge|" "$template" >"$scratch/bluetti-bridge@garage.service"
	if systemd-analyze verify --man=no "$scratch/bluetti-bridge@garage.service" >"$scratch/verify.log" 2>&1 && [ ! -s "$scratch/verify.log" ]; then
		ok "systemd-analyze verify bluetti-bridge@garage.service: no complaint"
	else
		cat "$scratch/verify.log" >&2
		fail "systemd-analyze verify complained"
	fi
	systemd-analyze security --offline=yes --no-pager "$scratch/bluetti-bridge@garage.service" >"$scratch/security.log" 2>&1 || true
	exposure=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$scratch/security.log")
	if [ -z "$exposure" ]; then
		cat "$scratch/security.log" >&2
		fail "systemd-analyze security gave no exposure level"
	elif awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }'; then
		ok "systemd-analyze security: exposure $exposure (at most 2.0)"
	else
		fail "systemd-analyze security: exposure $exposure, more than 2.0"
	fi
else
	echo "skipped: systemd-analyze is not installed"
fi

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed" >&2; exit 1; }
echo "all checks passed"
