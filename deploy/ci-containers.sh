#!/usr/bin/env bash
# Proves the containers mode of the test stack once per CI run (called by .ci/run after the normal
# run): installs Debian's Docker engine when absent, starts it without a bridge network (all
# traffic stays on loopback), builds the local images when missing (deploy/images/build-local.sh:
# no registry is reachable here), then runs the container test and a slice of the integration
# suite with HASHCHECK_STACK=containers.
#
# Exit 0 with a line "ci-containers: skipped: <reason>" when no engine can be installed or started;
# non-zero when the engine runs but an image build or a test fails. Bounded: CI_CONTAINERS_TIMEOUT_S
# (default 600 s) for the whole script.
#
# Usage: bash deploy/ci-containers.sh [test files...]   (default: the files in DEFAULT_TESTS)
set -uo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
budget="${CI_CONTAINERS_TIMEOUT_S:-600}"
cache="${HASHCHECK_CACHE:-$HOME/.cache/hashcheck}"
mkdir -p "$cache/logs"
dockerd_log="$cache/logs/dockerd.log"
started_dockerd=""

left() { echo $(( budget - ($(date +%s) - start) )); }
say() { echo "ci-containers: $*"; }
skip() { say "skipped: $*"; cleanup; exit 0; }
cleanup() {
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    ids="$(docker ps -aq --filter label=org.hashcheck.stack 2>/dev/null)"
    [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
  fi
  if [ -n "$started_dockerd" ]; then
    kill "$started_dockerd" 2>/dev/null
    for _ in $(seq 1 20); do kill -0 "$started_dockerd" 2>/dev/null || break; sleep 0.5; done
  fi
}
trap 'cleanup' EXIT

# 1. The engine: Debian's docker.io (dockerd, containerd, runc) when absent.
if ! command -v dockerd >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || skip "dockerd is not installed and this is not root (apt-get install docker.io)"
  say "installing Debian's docker.io ..."
  if ! timeout "$(left)" bash -c 'apt-get update -q >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io debootstrap' > "$cache/logs/apt-docker.log" 2>&1; then
    skip "could not install docker.io: $(tail -1 "$cache/logs/apt-docker.log")"
  fi
fi
command -v debootstrap >/dev/null 2>&1 || timeout "$(left)" bash -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap' >> "$cache/logs/apt-docker.log" 2>&1

# 2. Start it when nothing answers: no bridge and no iptables rules (containers use the host's
#    network; nothing is routed anywhere else).
if ! docker info >/dev/null 2>&1; then
  say "starting dockerd --bridge=none --iptables=false (log $dockerd_log) ..."
  dockerd --bridge=none --iptables=false --ip6tables=false >"$dockerd_log" 2>&1 &
  started_dockerd=$!
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    kill -0 "$started_dockerd" 2>/dev/null || break
    sleep 0.5
  done
  if ! docker info >/dev/null 2>&1; then
    reason="$(grep -iE 'level=(fatal|error)|failed|error' "$dockerd_log" | tail -1)"
    started_dockerd=""
    skip "the Docker engine did not start: ${reason:-no answer on /var/run/docker.sock after 30 s}"
  fi
fi
say "engine: $(docker version --format 'server {{.Server.Version}}' 2>/dev/null)"
# A container must actually run (some sandboxes accept the daemon but refuse namespaces or cgroups).
if ! probe_out="$(docker run --rm --network host hashcheck-local/debian:bookworm true 2>&1)"; then
  if docker image inspect hashcheck-local/debian:bookworm >/dev/null 2>&1; then
    skip "the engine cannot run a container: $probe_out"
  fi
fi

# 3. The images (local stand-ins built from the stack's artifacts; skipped when present).
if ! timeout "$(left)" bash deploy/images/build-local.sh --test-images > "$cache/logs/build-local.log" 2>&1; then
  tail -30 "$cache/logs/build-local.log"
  say "FAILED: building the local images (log $cache/logs/build-local.log)"
  exit 1
fi
while IFS='=' read -r k v; do
  case "$k" in ''|'#'*) ;; *) export "$k=$v" ;; esac
done < <(bash deploy/images/build-local.sh --print-env)
if ! docker run --rm --network host "$HASHCHECK_MONGO_IMAGE" /bin/true >/dev/null 2>&1; then
  say "FAILED: the engine does not run the locally built image $HASHCHECK_MONGO_IMAGE"
  exit 1
fi

# 4. The tests, in containers mode.
# The containers mode itself, the Kafka and MongoDB libraries, and two intake instances sharing a
# consumer group (the slice that exercises what a container changes: addresses, restarts, data).
# The whole suite runs in the normal pass of .ci/run; pass files to run others here.
DEFAULT_TESTS=(test/deploy/containers.test.ts)
for f in libs/kafka/test/*.test.ts libs/mongo/test/*.test.ts test/scale/intake-closed.test.ts; do
  [ -f "$f" ] && DEFAULT_TESTS+=("$f")
done
tests=("$@")
if [ "${#tests[@]}" -eq 0 ]; then
  tests=("${DEFAULT_TESTS[@]}")
  # A fresh machine spends minutes on the engine and the images; keep within the bound by
  # leaving out the two-instance test (it runs in the normal pass anyway).
  if [ "$(left)" -lt 420 ]; then
    tests=()
    for f in "${DEFAULT_TESTS[@]}"; do [ "$f" = test/scale/intake-closed.test.ts ] || tests+=("$f"); done
    say "$(left)s left after the set-up: the two-instance test is left out of this run"
  fi
fi
export HASHCHECK_STACK=containers
# The two-instance scale files run only with HASHCHECK_SCALE=full (too heavy for the normal pass).
export HASHCHECK_SCALE=full
# The runner's stack without the trace viewer (a JVM start less); the container test starts its own.
export HASHCHECK_TEST_ZIPKIN="${HASHCHECK_TEST_ZIPKIN:-0}"
# The runner's own stack comes from the containers too (startStack honours HASHCHECK_STACK).
unset KAFKA_BROKERS MONGODB_URI ZIPKIN_URL
remaining="$(left)"
[ "$remaining" -gt 30 ] || { say "FAILED: no time left for the tests (budget ${budget}s)"; exit 1; }
say "running ${#tests[@]} test file(s) with HASHCHECK_STACK=containers (${remaining}s left)"
timeout --kill-after=15 "$remaining" npx --no-install tsx scripts/test.ts "${tests[@]}"
rc=$?
[ "$rc" -eq 124 ] && say "FAILED: the tests did not finish within the ${budget}s budget"
say "done in $(( $(date +%s) - start )) s (exit $rc)"
exit "$rc"
