# Installs Debian packages that are missing, as root or through sudo, without prompting.
# Used by scripts/test and scripts/demo; nothing is downloaded from anywhere but the Debian archive.

BLUETTI_BUILD_PACKAGES=(
  build-essential cmake pkg-config dpkg-dev file
  libmosquitto-dev libssl-dev libcurl4-openssl-dev nlohmann-json3-dev libyaml-cpp-dev
  libspdlog-dev libsystemd-dev doctest-dev libcli11-dev libcpp-httplib-dev
  mosquitto-dev  # mosquitto_broker.h: the test plugin of mirror.system (skipped without it)
)
BLUETTI_RUNTIME_TEST_PACKAGES=(mosquitto openssl git clang-format
  # container.system: podman builds the image and the add-on on a base mmdebstrap makes (runc: crun
  # fails on hybrid cgroup layouts); uidmap, slirp4netns, fuse-overlayfs for podman without root
  podman runc mmdebstrap uidmap slirp4netns fuse-overlayfs
)

ensure_packages() {
  local missing=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing missing packages: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo -n)
      [ -t 0 ] && sudo=(sudo)
    else
      echo "error: packages missing (${missing[*]}) and not root and no sudo: install them and run again" >&2
      return 1
    fi
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
