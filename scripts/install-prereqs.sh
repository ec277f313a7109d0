#!/usr/bin/env bash
# Installs what the local stack (@hashcheck/stack) needs and is missing, on Debian 12 / Ubuntu:
#   - a JDK 17+ (runs Apache Kafka and Zipkin)          -> openjdk-17-jdk-headless
#   - Maven (fetches their jars from Maven Central)      -> maven
#   - Go >= 1.21 (builds the FerretDB wrapper; FerretDB 1.24 needs Go 1.24, which go >= 1.21
#     downloads by itself from the Go module proxy as the golang.org/toolchain module)
#     -> golang-go where it is new enough, else golang-1.2x-go from bookworm-backports.
# Idempotent: whatever is already there is left alone, and apt is not touched when nothing is missing.
# Run as root (or with sudo available). Node.js 20 itself is a prerequisite of the repo, not installed here.
set -euo pipefail

log() { printf '[install-prereqs] %s\n' "$*"; }
die() { printf '[install-prereqs] ERROR: %s\n' "$*" >&2; exit 1; }

SUDO=''
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO='sudo'; fi
fi

java_major() {
  # `openjdk version "17.0.15" 2025-04-15` -> 17 ; `"1.8.0_392"` -> 8
  local v
  v=$(java -version 2>&1 | sed -n 's/.*version "\([0-9][0-9.]*\).*/\1/p' | head -n1)
  case "$v" in
    1.*) echo "${v#1.}" | cut -d. -f1 ;;
    '') echo 0 ;;
    *) echo "$v" | cut -d. -f1 ;;
  esac
}

go_minor() {
  # `go version go1.26.8 linux/amd64` -> 26 ; prints 0 when go is missing or not 1.x.
  # GOTOOLCHAIN=local: report the installed go, not a toolchain it would switch to.
  local v
  v=$(GOTOOLCHAIN=local go version 2>/dev/null | sed -n 's/^go version go1\.\([0-9]*\).*/\1/p')
  echo "${v:-0}"
}

need=()
if ! command -v java >/dev/null 2>&1 || [ "$(java_major)" -lt 17 ]; then need+=(java); fi
if ! command -v mvn >/dev/null 2>&1; then need+=(maven); fi
if ! command -v go >/dev/null 2>&1 || [ "$(go_minor)" -lt 21 ]; then need+=(go); fi

if [ ${#need[@]} -eq 0 ]; then
  log "java $(java_major), $(mvn -v 2>/dev/null | head -n1 | sed 's/\x1b\[[0-9;]*m//g'), $(GOTOOLCHAIN=local go version): nothing to install"
  exit 0
fi
log "missing: ${need[*]}"

if ! command -v apt-get >/dev/null 2>&1; then
  die "no apt-get here; install yourself: a JDK 17+, Apache Maven 3.8+, Go >= 1.21 (then re-run)"
fi
if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
  die "run as root (or install sudo): needs apt-get install for: ${need[*]}"
fi

export DEBIAN_FRONTEND=noninteractive
apt_install() { $SUDO apt-get install -y --no-install-recommends "$@"; }

log "apt-get update"
$SUDO apt-get update -qq

pkgs=()
for n in "${need[@]}"; do
  case "$n" in
    java) pkgs+=(openjdk-17-jdk-headless) ;;
    maven) pkgs+=(maven) ;;
  esac
done
if [ ${#pkgs[@]} -gt 0 ]; then
  log "apt-get install ${pkgs[*]}"
  apt_install "${pkgs[@]}"
fi

candidate_minor() {
  # Minor version apt would install for a golang package, 0 if none: `2:1.19~1` -> 19, `1.23.1-1~bpo12+1` -> 23
  apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: \(.*:\)\{0,1\}1\.\([0-9]*\).*/\2/p' | head -n1
}

if [[ " ${need[*]} " == *" go "* ]]; then
  minor=$(candidate_minor golang-go); minor=${minor:-0}
  if [ "$minor" -ge 21 ]; then
    log "apt-get install golang-go (1.$minor)"
    apt_install golang-go ca-certificates
  else
    # Debian 12 ships Go 1.19; bookworm-backports has golang-1.21..1.23, enough to fetch Go 1.24.
    codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
    if [ -n "$codename" ] && ! apt-cache policy 2>/dev/null | grep -q "${codename}-backports"; then
      log "enabling ${codename}-backports for a newer Go"
      echo "deb http://deb.debian.org/debian ${codename}-backports main" | $SUDO tee "/etc/apt/sources.list.d/${codename}-backports.list" >/dev/null
      $SUDO apt-get update -qq
    fi
    best=''
    for m in 24 23 22 21; do
      if [ -n "$(apt-cache policy "golang-1.$m-go" 2>/dev/null | sed -n 's/^ *Candidate: \([^(].*\)/\1/p')" ]; then best=$m; break; fi
    done
    [ -n "$best" ] || die "no Go >= 1.21 in apt (looked at golang-go and golang-1.2x-go); install Go >= 1.21 yourself"
    log "apt-get install golang-1.$best-go (from ${codename:-the}-backports)"
    apt_install -t "${codename}-backports" "golang-1.$best-go" ca-certificates || apt_install "golang-1.$best-go" ca-certificates
    $SUDO ln -sf "/usr/lib/go-1.$best/bin/go" /usr/local/bin/go
    $SUDO ln -sf "/usr/lib/go-1.$best/bin/gofmt" /usr/local/bin/gofmt
  fi
  hash -r
  [ "$(go_minor)" -ge 21 ] || die "go on PATH is still older than 1.21: $(command -v go)"
fi

hash -r
log "java $(java_major), $(mvn -v 2>/dev/null | head -n1 | sed 's/\x1b\[[0-9;]*m//g'), $(GOTOOLCHAIN=local go version)"
log "done. (Go < 1.24 fetches the Go 1.24 toolchain from the Go module proxy on first build: the stack sets GOTOOLCHAIN=auto.)"
