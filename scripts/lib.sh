# shellcheck shell=bash
# Small helpers shared by the scripts in this folder. Source it; do not run it.
LIVECHAT_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Caches that survive between runs on the same machine (venv, images, apt and npm downloads).
LIVECHAT_CACHE_DIR=${LIVECHAT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/livechat.stack}
export LIVECHAT_REPO LIVECHAT_CACHE_DIR

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" -eq 0 ]; }
have() { command -v "$1" >/dev/null 2>&1; }

# apt_install PKG...: install the Debian packages that are missing (root on Debian/Ubuntu only).
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  is_root && have apt-get || die "missing Debian packages: ${missing[*]}; install them (as root: apt-get install ${missing[*]})"
  log "installing Debian packages: ${missing[*]}"
  if [ ! -f "$LIVECHAT_CACHE_DIR/.apt-updated" ] || [ -n "$(find "$LIVECHAT_CACHE_DIR/.apt-updated" -mmin +360)" ]; then
    apt-get update -qq
    mkdir -p "$LIVECHAT_CACHE_DIR" && touch "$LIVECHAT_CACHE_DIR/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
}
