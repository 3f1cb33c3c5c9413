#!/usr/bin/env bash
# Installs what the project needs, then configures and builds one CMake preset.
#
#   tools/setup.sh [PRESET] [extra `cmake --build` arguments ...]
#
# PRESET is a configure/build preset from CMakePresets.json (default:
# release); `none` only installs. Steps, each skipped when already done:
#   1. Debian packages from deploy/debian-packages.txt (plus
#      deploy/debian-packages-node.txt only when no node >= 18 is on PATH):
#      `apt-get update` once, then `apt-get install` of the missing ones.
#   2. npm modules in tests/integration, web/ and tests/bench (benchmark
#      peers), each where a package.json exists: `npm ci` (or `npm install`
#      without a lockfile) when node_modules is missing or the lockfile
#      changed.
#   3. `cmake --preset PRESET` and `cmake --build --preset PRESET`
#      (Ninja, ccache when installed, -j$(nproc)).
# Works as root or through `sudo -n`, with no standard input (CI).
# Environment: PUZZLE_SKIP_APT=1 skips step 1, PUZZLE_SKIP_NPM=1 step 2;
# PUZZLE_CMAKE_ARGS adds (space-separated) arguments to the configure step.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO
readonly NODE_MIN_MAJOR=18
readonly NPM_DIRS=(tests/integration web tests/bench tools/iot-simulator)

log() { printf 'setup: %s\n' "$*" >&2; }
die() {
  printf 'setup: error: %s\n' "$*" >&2
  exit 1
}

# Package names of a list file: comments and blanks dropped.
read_list() {
  sed -e 's/#.*//' -e 's/[[:space:]]//g' "$1" | grep -v '^$' || true
}

is_installed() {
  # shellcheck disable=SC2016 # ${db:Status-Abbrev} is dpkg-query's syntax
  dpkg-query -W -f='${db:Status-Abbrev}\n' "$1" 2>/dev/null | grep -q '^ii'
}

node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e "process.exit(+process.versions.node.split('.')[0] >= \
${NODE_MIN_MAJOR} ? 0 : 1)" 2>/dev/null
}

install_packages() {
  local -a wanted=() missing=() as_root=()
  local pkg
  mapfile -t wanted < <(read_list "$REPO/deploy/debian-packages.txt")
  if ! node_ok; then
    if command -v node >/dev/null 2>&1; then
      die "node $(node --version) is older than ${NODE_MIN_MAJOR}; \
install Node.js >= ${NODE_MIN_MAJOR} (Debian 12's nodejs package is 18)"
    fi
    mapfile -t -O "${#wanted[@]}" wanted \
      < <(read_list "$REPO/deploy/debian-packages-node.txt")
  elif ! command -v npm >/dev/null 2>&1; then
    wanted+=(npm)
  fi
  for pkg in "${wanted[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
  done
  ((${#missing[@]} > 0)) || return 0

  command -v apt-get >/dev/null 2>&1 ||
    die "missing packages (${missing[*]}) and no apt-get: install them first"
  if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 ||
      die "missing packages (${missing[*]}): run as root or install sudo"
    as_root=(sudo -n)
  fi
  log "installing Debian packages: ${missing[*]}"
  # The lock timeout waits for another apt run instead of failing at once.
  local -a apt=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600)
  "${apt[@]}" -qq update </dev/null
  "${apt[@]}" -q -y --no-install-recommends install "${missing[@]}" </dev/null

  local -a still=()
  for pkg in "${missing[@]}"; do
    is_installed "$pkg" || still+=("$pkg")
  done
  ((${#still[@]} == 0)) || die "still missing after apt-get: ${still[*]}"
  node_ok || die "node >= ${NODE_MIN_MAJOR} is still not on PATH"
}

# Fingerprint of what node_modules was installed from.
npm_fingerprint() {
  local dir="$1" src="$1/package.json"
  [[ -f "$dir/package-lock.json" ]] && src="$dir/package-lock.json"
  printf '%s node-%s\n' "$(sha256sum "$src" | cut -d' ' -f1)" \
    "$(node --version)"
}

install_npm_modules() {
  local rel dir stamp
  for rel in "${NPM_DIRS[@]}"; do
    dir="$REPO/$rel"
    [[ -f "$dir/package.json" ]] || continue
    stamp="$dir/node_modules/.puzzle-setup-stamp"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$(npm_fingerprint "$dir")" ]]
    then
      continue
    fi
    log "installing npm modules in $rel"
    local -a npm_args=(--no-audit --no-fund --no-progress --loglevel=error)
    if [[ -f "$dir/package-lock.json" ]]; then
      (cd "$dir" && npm ci "${npm_args[@]}" </dev/null)
    else
      (cd "$dir" && npm install "${npm_args[@]}" </dev/null)
    fi
    npm_fingerprint "$dir" >"$stamp"
  done
}

build() {
  local preset="$1"
  shift
  [[ "$preset" == none ]] && return 0
  # Share ccache hits between clones of the repository (CI builds in a fresh
  # clone elsewhere): paths under the source tree are hashed relative to it.
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$REPO}"
  export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-true}"
  cd "$REPO"
  local configure_log
  local -a extra=()
  read -r -a extra <<<"${PUZZLE_CMAKE_ARGS:-}"
  configure_log="$(mktemp)"
  log "configuring (preset $preset${extra[*]:+ ${extra[*]}})"
  if ! cmake --preset "$preset" "${extra[@]}" >"$configure_log"; then
    cat "$configure_log" >&2
    rm -f "$configure_log"
    die "cmake --preset $preset failed"
  fi
  rm -f "$configure_log"
  log "building (preset $preset, $(nproc) jobs)"
  cmake --build --preset "$preset" -j "$(nproc)" "$@"
}

main() {
  local preset="${1:-release}"
  (($# == 0)) || shift
  [[ "${PUZZLE_SKIP_APT:-0}" == 1 ]] || install_packages
  if [[ "${PUZZLE_SKIP_NPM:-0}" != 1 ]]; then
    node_ok || die "node >= ${NODE_MIN_MAJOR} is needed (see deploy/)"
    install_npm_modules
  fi
  build "$preset" "$@"
}

main "$@"
