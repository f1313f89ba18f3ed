#!/bin/sh
# Entry point of the Home Assistant add-on: turns the add-on options (/data/options.json) and the
# Supervisor's MQTT service into bluetti-bridge's configuration, checks it with the bridge's own
# --check-config (its messages land in the add-on log), then becomes the bridge (exec: PID 1, so
# SIGTERM from the Supervisor reaches it and it publishes offline before it exits).
#
# The passwords go into files of mode 0600 next to the configuration (the bridge's password_file
# keys), never into the configuration, the log or a command line.
#
# Environment (the Supervisor sets SUPERVISOR_TOKEN; the rest are for tests and need not be set):
#   SUPERVISOR_TOKEN          bearer token for the Supervisor API
#   BLUETTI_SUPERVISOR_URL    the Supervisor API (default http://supervisor)
#   BLUETTI_ADDON_OPTIONS     the options file (default /data/options.json)
#   BLUETTI_ADDON_DIR         where the configuration, the password files and the state go
#                             (default /data/bluetti-bridge; /data is the add-on's persistent storage)
#   BLUETTI_CLOUD_API, BLUETTI_CLOUD_BROKER, BLUETTI_CLOUD_CA_FILE
#                             cloud.api, cloud.broker and cloud.ca_file, to run against bluetti-sim
set -eu
umask 077

say() { printf 'bluetti-bridge add-on: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

supervisor=${BLUETTI_SUPERVISOR_URL:-http://supervisor}
options=${BLUETTI_ADDON_OPTIONS:-/data/options.json}
dir=${BLUETTI_ADDON_DIR:-/data/bluetti-bridge}
config=$dir/config.yaml

[ -r "$options" ] || die "cannot read the options file $options"
jq -e 'type == "object"' "$options" >/dev/null 2>&1 || die "$options is not a JSON object"
[ -n "${SUPERVISOR_TOKEN:-}" ] || die "SUPERVISOR_TOKEN is not set: the add-on needs the Supervisor API (services: mqtt:need)"

# The broker Home Assistant uses, from the Supervisor. The token goes to curl on its standard input,
# so it is not on a command line anyone in the container can read.
mqtt=$(printf 'header = "Authorization: Bearer %s"\n' "$SUPERVISOR_TOKEN" |
	curl --fail --silent --show-error --max-time 20 --config - "$supervisor/services/mqtt") ||
	die "no answer from the Supervisor's MQTT service at $supervisor/services/mqtt: is the Mosquitto broker add-on installed and started?"
printf '%s' "$mqtt" | jq -e '.result == "ok" and (.data.host | type == "string") and (.data.port | type == "number")' >/dev/null 2>&1 ||
	die "the Supervisor's MQTT service gave no broker (result: $(printf '%s' "$mqtt" | jq -r '.result // "?"' 2>/dev/null || echo '?'))"

host=$(printf '%s' "$mqtt" | jq -r '.data.host')
port=$(printf '%s' "$mqtt" | jq -r '.data.port')
scheme=$(printf '%s' "$mqtt" | jq -r 'if .data.ssl == true then "mqtts" else "mqtt" end')
mqtt_user=$(printf '%s' "$mqtt" | jq -r '.data.username // ""')
case $host in *:*) host="[$host]" ;; esac  # an IPv6 address
broker="$scheme://$host:$port"

mkdir -p "$dir" "$dir/state"
chmod 0700 "$dir" "$dir/state"
# The secrets: written with umask 077 (mode 0600), replaced whole.
jq -j '.password // ""' "$options" >"$dir/account.password.new" && mv "$dir/account.password.new" "$dir/account.password"
rm -f "$dir/mqtt.password"
if [ -n "$mqtt_user" ]; then
	printf '%s' "$mqtt" | jq -j '.data.password // ""' >"$dir/mqtt.password.new" && mv "$dir/mqtt.password.new" "$dir/mqtt.password"
	[ -s "$dir/mqtt.password" ] || rm -f "$dir/mqtt.password"
fi
mqtt_password_file=
[ -f "$dir/mqtt.password" ] && mqtt_password_file=$dir/mqtt.password

# Every value is written as a JSON string, which YAML reads as a double-quoted scalar: nothing in
# an option can change the structure of the file.
jq -r --arg dir "$dir" --arg broker "$broker" --arg user "$mqtt_user" --arg user_password "$mqtt_password_file" \
	--arg api "${BLUETTI_CLOUD_API:-}" --arg cloud_broker "${BLUETTI_CLOUD_BROKER:-}" --arg ca "${BLUETTI_CLOUD_CA_FILE:-}" '
	def q: tojson;
	def opt($key; $indent): if (.[$key] // "") != "" then "\($indent)\($key): \(.[$key] | q)" else empty end;
	"# Written by the add-on at every start from its options: change the options, not this file.",
	"cloud:",
	"  email: \(.email // "" | q)",
	"  password_file: \($dir + "/account.password" | q)",
	(if $api != "" then "  api: \($api | q)" else empty end),
	(if $cloud_broker != "" then "  broker: \($cloud_broker | q)" else empty end),
	(if $ca != "" then "  ca_file: \($ca | q)" else empty end),
	"homeassistant:",
	"  broker: \($broker | q)",
	(if $user != "" then "  username: \($user | q)" else empty end),
	(if $user_password != "" then "  password_file: \($user_password | q)" else empty end),
	"  discovery: \(.discovery // "device" | q)",
	opt("client_id"; "  "),
	opt("base_topic"; "  "),
	(if ((.devices // []) | length) > 0 then
		"devices:",
		(.devices[] | "  - serial: \(.serial // "" | q)", opt("name"; "    "), opt("model"; "    "))
	else empty end),
	"log:",
	"  level: \(.log_level // "info" | q)",
	"state_dir: \($dir + "/state" | q)"
	' "$options" >"$config.new"
mv "$config.new" "$config"

say "broker $broker${mqtt_user:+ as user $mqtt_user} (from the Supervisor's MQTT service); configuration $config"
if ! /usr/bin/bluetti-bridge --check-config --config "$config"; then
	die "the options above are not valid: each message names the line of $config written from the option (change it in the add-on's Configuration tab)"
fi
exec /usr/bin/bluetti-bridge --config "$config"
