#!/bin/sh
# package.deb: builds the Debian package with CPack into a scratch directory and checks it as a user
# would get it: control fields (computed Depends with libmosquitto1, architecture, changelog
# version), conffiles, the file list (programs, unit, man pages, docs; no simulator, nothing from
# the build), then runs the extracted programs: `bluetti-bridge --check-config` on the packaged
# configuration (password as the systemd credential, like the unit) and `bluetti-cli decode` on a
# real capture. Lintian, when installed, must report no errors.
#
#   package_deb_test.sh BUILD_DIR SOURCE_DIR [CPACK]
#
# Exit 0 pass, 1 fail, 77 skipped (dpkg-deb, dpkg-shlibdeps, file or cpack missing).
# Set BLUETTI_KEEP_SCRATCH=1 to keep the scratch directory.
set -eu

build=${1:?usage: package_deb_test.sh BUILD_DIR SOURCE_DIR [CPACK]}
source=${2:?usage: package_deb_test.sh BUILD_DIR SOURCE_DIR [CPACK]}
cpack=${3:-cpack}

skip() { echo "SKIPPED: $*"; exit 77; }
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
check() {  # check DESCRIPTION COMMAND...: runs COMMAND, counts a failure when it fails
	what=$1; shift
	if "$@"; then echo "ok: $what"; else fail "$what"; fi
}

command -v dpkg-deb >/dev/null 2>&1 || skip "dpkg-deb is not installed (package dpkg)"
command -v dpkg-shlibdeps >/dev/null 2>&1 || skip "dpkg-shlibdeps is not installed (package dpkg-dev); CPack needs it to compute Depends"
command -v file >/dev/null 2>&1 || skip "file is not installed (package file); CPack needs it to compute Depends"
command -v "$cpack" >/dev/null 2>&1 || skip "cpack ($cpack) is not available"
[ -f "$build/CPackConfig.cmake" ] || skip "$build/CPackConfig.cmake is missing (configure the project first)"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/bluetti-package-test.XXXXXX")
cleanup() {
	if [ "${BLUETTI_KEEP_SCRATCH:-0}" = 1 ]; then echo "scratch directory kept: $scratch"; else rm -rf "$scratch"; fi
}
trap cleanup EXIT

# --- build the package into the scratch directory (the build tree's own packages stay untouched) ---
if ! "$cpack" -G DEB --config "$build/CPackConfig.cmake" -B "$scratch/out" >"$scratch/cpack.log" 2>&1; then
	cat "$scratch/cpack.log" >&2
	echo "FAIL: cpack failed" >&2
	exit 1
fi
set -- "$scratch"/out/bluetti-bridge_*.deb
[ "$#" -eq 1 ] && [ -f "$1" ] || { echo "FAIL: expected one bluetti-bridge_*.deb in $scratch/out, found: $*" >&2; exit 1; }
deb=$1
echo "package: $(basename "$deb")"

# --- control fields ---------------------------------------------------------------------------------
field() { dpkg-deb -f "$deb" "$1"; }
check "Package is bluetti-bridge" [ "$(field Package)" = bluetti-bridge ]
check "Architecture is dpkg's ($(dpkg --print-architecture))" [ "$(field Architecture)" = "$(dpkg --print-architecture)" ]
depends=$(field Depends)
echo "Depends: $depends"
check "Depends lists libmosquitto1 (computed by dpkg-shlibdeps)" \
	sh -c 'printf "%s\n" "$1" | tr "," "\n" | grep -Eq "^ *libmosquitto1( |\$)"' sh "$depends"
check "Depends lists libc6 with a version (computed, not hand-written)" \
	sh -c 'printf "%s\n" "$1" | grep -Eq "libc6 \(>= [0-9]"' sh "$depends"
for f in Section Priority Maintainer Description Installed-Size; do
	check "control field $f is set" [ -n "$(field "$f")" ]
done
check "Description has a synopsis and a long description" [ "$(field Description | wc -l)" -gt 2 ]

# conffiles: exactly the configuration, listed once
dpkg-deb --ctrl-tarfile "$deb" | tar -x -C "$scratch" ./conffiles 2>/dev/null || : >"$scratch/conffiles"
check "conffiles lists /etc/bluetti-bridge/config.yaml once" [ "$(grep -cx /etc/bluetti-bridge/config.yaml "$scratch/conffiles")" = 1 ]
check "conffiles lists nothing else" [ "$(grep -cv '^$' "$scratch/conffiles")" = 1 ]
dpkg-deb --ctrl-tarfile "$deb" | tar -t >"$scratch/control.list"
for script in postinst prerm postrm; do
	check "maintainer script $script present" grep -qx "./$script" "$scratch/control.list"
done

# --- the file list ----------------------------------------------------------------------------------
dpkg-deb -c "$deb" >"$scratch/contents"
has() { awk '{print $6}' "$scratch/contents" | grep -Eq "$1"; }
check "usr/bin/bluetti-bridge, executable" grep -Eq '^-rwxr-xr-x root/root .* \./usr/bin/bluetti-bridge$' "$scratch/contents"
check "usr/bin/bluetti-cli, executable" grep -Eq '^-rwxr-xr-x root/root .* \./usr/bin/bluetti-cli$' "$scratch/contents"
check "the systemd unit is in a systemd/system directory" has '^\./(usr/)?lib/systemd/system/bluetti-bridge\.service$'
check "the template unit bluetti-bridge@.service is beside it" has '^\./(usr/)?lib/systemd/system/bluetti-bridge@\.service$'
check "the conffile etc/bluetti-bridge/config.yaml is shipped (0644)" \
	grep -Eq '^-rw-r--r-- root/root .* \./etc/bluetti-bridge/config\.yaml$' "$scratch/contents"
check "man page bluetti-bridge(8)" has '^\./usr/share/man/man8/bluetti-bridge\.8\.gz$'
check "man page bluetti-cli(1)" has '^\./usr/share/man/man1/bluetti-cli\.1\.gz$'
check "man page bluetti-bridge.yaml(5)" has '^\./usr/share/man/man5/bluetti-bridge\.yaml\.5\.gz$'
check "usr/share/doc/bluetti-bridge/copyright" has '^\./usr/share/doc/bluetti-bridge/copyright$'
check "usr/share/doc/bluetti-bridge/changelog.gz" has '^\./usr/share/doc/bluetti-bridge/changelog\.gz$'
check "every entry is owned by root/root" sh -c '! awk "\$2 != \"root/root\"" "$1" | grep -q .' sh "$scratch/contents"
check "no bluetti-sim, headers, static libraries or /usr/local" sh -c '! awk "{print \$6}" "$1" | grep -Eq "bluetti-sim|^\./usr/include|\.a\$|^\./usr/local"' sh "$scratch/contents"

# --- the extracted tree -----------------------------------------------------------------------------
root=$scratch/root
dpkg-deb -x "$deb" "$root"
unit=$(ls "$root"/lib/systemd/system/bluetti-bridge.service "$root"/usr/lib/systemd/system/bluetti-bridge.service 2>/dev/null | head -n 1)
check "the unit is systemd/bluetti-bridge.service" cmp -s "$source/systemd/bluetti-bridge.service" "${unit:-/nonexistent}"
check "the template is systemd/bluetti-bridge@.service" cmp -s "$source/systemd/bluetti-bridge@.service" "$(dirname "${unit:-/nonexistent}")/bluetti-bridge@.service"
check "the conffile is config/bluetti-bridge.example.yaml" cmp -s "$source/config/bluetti-bridge.example.yaml" "$root/etc/bluetti-bridge/config.yaml"
for page in man8/bluetti-bridge.8 man1/bluetti-cli.1 man5/bluetti-bridge.yaml.5; do
	check "$page.gz is valid gzip" gzip -t "$root/usr/share/man/$page.gz"
done
for program in bluetti-bridge bluetti-cli; do
	check "$program is stripped" sh -c 'LC_ALL=C file -L "$1" | grep -q ", stripped"' sh "$root/usr/bin/$program"
done
version=$(field Version)
check "changelog.gz's newest entry is version $version" \
	sh -c 'gzip -dc "$1" | head -n 1 | grep -qF "bluetti-bridge ($2) "' sh "$root/usr/share/doc/bluetti-bridge/changelog.gz" "$version"

# bluetti-bridge --check-config on the packaged configuration. The password comes as the systemd
# credential bluetti-password, as the unit's LoadCredential= provides it; nothing else may leak in.
mkdir -p "$scratch/credentials"
printf 'not-a-real-password\n' >"$scratch/credentials/bluetti-password"
chmod 600 "$scratch/credentials/bluetti-password"
if env -u BLUETTI_PASSWORD -u BLUETTI_HA_PASSWORD -u STATE_DIRECTORY CREDENTIALS_DIRECTORY="$scratch/credentials" \
	"$root/usr/bin/bluetti-bridge" --config "$root/etc/bluetti-bridge/config.yaml" --check-config >"$scratch/check.out" 2>"$scratch/check.err"; then
	check "bluetti-bridge --check-config accepts the packaged configuration" grep -q "configuration OK" "$scratch/check.out"
else
	cat "$scratch/check.out" "$scratch/check.err" >&2
	fail "bluetti-bridge --check-config rejected the packaged configuration"
fi
# ... and without any password it must refuse (unless this machine really has the password file).
if [ ! -r /etc/bluetti-bridge/account.password ]; then
	if env -u BLUETTI_PASSWORD -u CREDENTIALS_DIRECTORY -u STATE_DIRECTORY \
		"$root/usr/bin/bluetti-bridge" --config "$root/etc/bluetti-bridge/config.yaml" --check-config >/dev/null 2>"$scratch/nopass.err"; then
		fail "bluetti-bridge --check-config accepted the configuration without any password"
	else
		check "without a password, --check-config names cloud.password_file" grep -q "cloud.password_file" "$scratch/nopass.err"
	fi
fi

# bluetti-cli decode on a real capture (Apex 300, block 100 HOME_DATA, tests/data/apex300/README.md).
capture=$source/tests/data/apex300/mqtt_home_data_v2.hex
if "$root/usr/bin/bluetti-cli" --model AP300 decode --block 100 --hex "$(cat "$capture")" >"$scratch/decode.out" 2>"$scratch/decode.err"; then
	check "bluetti-cli decode: SOC 95 %" grep -q '"pack_soc":95' "$scratch/decode.out"
	check "bluetti-cli decode: serial 2616113487436" grep -q '"device_serial":"2616113487436"' "$scratch/decode.out"
else
	cat "$scratch/decode.err" >&2
	fail "bluetti-cli decode failed on $capture"
fi

# --- lintian, when installed: no errors ---------------------------------------------------------------
if command -v lintian >/dev/null 2>&1; then
	if lintian --fail-on error "$deb" >"$scratch/lintian.out" 2>&1; then
		echo "ok: lintian reports no errors"
	else
		fail "lintian reports errors"
	fi
	cat "$scratch/lintian.out"
else
	echo "note: lintian is not installed; not run"
fi

if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed" >&2
	exit 1
fi
echo "all package checks passed"
