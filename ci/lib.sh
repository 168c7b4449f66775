# Helpers the ci/ scripts share; sourced from the repository root
# (`. ci/lib.sh`), after `cd "$(dirname "$0")/.."`.

# apt_install PKG...: installs the missing Debian packages (root; runs
# `apt-get update` once per machine, only when something is missing).
apt_install() {
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ ! -f /tmp/.horus-apt-updated ]; then apt-get update -qq && touch /tmp/.horus-apt-updated; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# rust_targets TARGET...: adds the missing rustup targets (stable).
rust_targets() {
  local installed missing=() t
  installed=$(rustup target list --installed)
  for t in "$@"; do grep -qx "$t" <<<"$installed" || missing+=("$t"); done
  [ ${#missing[@]} -eq 0 ] || rustup target add "${missing[@]}"
}
