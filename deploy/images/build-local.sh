#!/usr/bin/env bash
# Builds, without any container registry, local equivalents of the images the containers stack
# mode uses (libs/stack/src/containers.ts), from the same artifacts the local stack runs:
#
#   hashcheck-local/debian:bookworm       Debian root filesystem from debootstrap (docker import)
#   hashcheck-local/jre:17                + openjdk-17-jre-headless from Debian's packages
#   hashcheck-local/kafka:<kafka>         + the Kafka jars from Maven Central   (for apache/kafka)
#   hashcheck-local/mongo:ferretdb-<v>    + the FerretDB wrapper binary          (for mongo)
#   hashcheck-local/zipkin:<zipkin>       + the Zipkin server jar                (for openzipkin/zipkin)
#   hashcheck-local/node:20               + this machine's Node.js binary        (for node:20-bookworm-slim)
#
# Usage: deploy/images/build-local.sh [--force] [--test-images] [--print-env]
#   --force      rebuild images that already exist (the debootstrap tarball in the cache is kept:
#                delete $HASHCHECK_CACHE/images/debian-bookworm-minbase.tar to redo it)
#   --test-images  only what the containers test stack needs (not the Node.js base of deploy/Dockerfile)
#   --print-env  only print the HASHCHECK_*_IMAGE variables for the images (no build)
# Needs a running Docker engine (see deploy/ci-containers.sh), debootstrap (installed with apt-get
# when missing and running as root), and the local stack's artifacts (prepared when missing).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${HASHCHECK_CACHE:-$HOME/.cache/hashcheck}"
force=0
print_only=0
test_only=0
for a in "$@"; do
  case "$a" in
    --force) force=1 ;;
    --print-env) print_only=1 ;;
    --test-images) test_only=1 ;;
    *) echo "usage: $0 [--force] [--test-images] [--print-env]" >&2; exit 2 ;;
  esac
done

versions="$(cd "$repo" && npx --no-install tsx -e "import('@hashcheck/stack').then((m) => console.log(m.VERSIONS.kafka, m.VERSIONS.ferretdb, m.VERSIONS.zipkin))")"
read -r kafka_v ferretdb_v zipkin_v <<<"$versions"
node_major="$(node -p 'process.versions.node.split(".")[0]')"

BASE=hashcheck-local/debian:bookworm
JRE=hashcheck-local/jre:17
KAFKA=hashcheck-local/kafka:$kafka_v
MONGO=hashcheck-local/mongo:ferretdb-$ferretdb_v
ZIPKIN=hashcheck-local/zipkin:$zipkin_v
NODE=hashcheck-local/node:$node_major

print_env() {
  echo "HASHCHECK_KAFKA_IMAGE=$KAFKA"
  echo "HASHCHECK_MONGO_IMAGE=$MONGO"
  echo "HASHCHECK_ZIPKIN_IMAGE=$ZIPKIN"
  echo "HASHCHECK_CONTAINER_NETWORK=host"
  # Ryuk is an image from a registry; the engine runs without a bridge network, so testcontainers
  # cannot find its host through the bridge gateway: name it.
  echo "TESTCONTAINERS_RYUK_DISABLED=true"
  echo "TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1"
  echo "NODE_IMAGE=$NODE"
}
if [ "$print_only" = 1 ]; then print_env; exit 0; fi

log() { echo "[build-local] $*" >&2; }
have_image() { [ "$force" = 0 ] && docker image inspect "$1" >/dev/null 2>&1; }
# The classic builder: the Debian engine has no buildx plugin, and it honours --network host,
# which the JRE image needs to reach Debian's mirror when the engine runs without a bridge.
build() { DOCKER_BUILDKIT=0 docker build --network host -q "$@" >/dev/null; }

docker info >/dev/null 2>&1 || { echo "build-local: no Docker engine answers (docker info failed)" >&2; exit 3; }

# The artifacts the local stack uses (cached under $cache, keyed by version).
if [ ! -f "$cache/kafka-$kafka_v/.complete" ] || [ ! -f "$cache/ferretdb-$ferretdb_v/.complete" ] || [ ! -f "$cache/zipkin-$zipkin_v/.complete" ]; then
  log "preparing the local stack artifacts (Kafka jars, FerretDB wrapper, Zipkin jar) ..."
  (cd "$repo" && npx --no-install tsx -e "import('@hashcheck/stack').then((m) => m.prepareStack({ zipkin: true, mongo: 'ferretdb', env: { ...process.env, KAFKA_BROKERS: '', MONGODB_URI: '', ZIPKIN_URL: '' } }))")
fi

if ! have_image "$BASE"; then
  tarball="$cache/images/debian-bookworm-minbase.tar"
  if [ ! -f "$tarball" ]; then
    command -v debootstrap >/dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y -q debootstrap >/dev/null; }
    command -v debootstrap >/dev/null || { echo "build-local: debootstrap is missing (apt-get install debootstrap)" >&2; exit 3; }
    log "debootstrap Debian bookworm (minbase) ..."
    mkdir -p "$cache/images"
    rootfs="$(mktemp -d "$cache/images/rootfs.XXXXXX")"
    trap 'rm -rf "$rootfs"' EXIT
    debootstrap --variant=minbase bookworm "$rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" > "$cache/images/debootstrap.log" 2>&1 \
      || { tail -20 "$cache/images/debootstrap.log" >&2; exit 1; }
    # A container image needs no apt caches, and these files are provided by the engine.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    : > "$rootfs/etc/hostname"
    tar -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
    trap - EXIT
  fi
  log "importing $BASE"
  docker import --change 'CMD ["/bin/bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' "$tarball" "$BASE" >/dev/null
fi

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT

if ! have_image "$JRE"; then
  log "building $JRE (openjdk-17-jre-headless from Debian) ..."
  build --build-arg "BASE_IMAGE=$BASE" -t "$JRE" "$here/jre"
fi

if ! have_image "$KAFKA"; then
  log "building $KAFKA ..."
  mkdir -p "$ctx/kafka" && cp "$here/kafka/Dockerfile" "$here/kafka/run.sh" "$ctx/kafka/"
  cp -r "$cache/kafka-$kafka_v/libs" "$ctx/kafka/libs"
  build --build-arg "JRE_IMAGE=$JRE" --build-arg "KAFKA_VERSION=$kafka_v" -t "$KAFKA" "$ctx/kafka"
fi

if ! have_image "$MONGO"; then
  log "building $MONGO ..."
  mkdir -p "$ctx/mongo" && cp "$here/mongo/Dockerfile" "$here/mongo/mongod" "$ctx/mongo/"
  cp "$cache/ferretdb-$ferretdb_v/ferretdb-wrapper" "$ctx/mongo/"
  build --build-arg "BASE_IMAGE=$BASE" --build-arg "FERRETDB_VERSION=$ferretdb_v" -t "$MONGO" "$ctx/mongo"
fi

if ! have_image "$ZIPKIN"; then
  log "building $ZIPKIN ..."
  mkdir -p "$ctx/zipkin" && cp "$here/zipkin/Dockerfile" "$ctx/zipkin/"
  cp "$cache/zipkin-$zipkin_v/zipkin-server-exec.jar" "$ctx/zipkin/"
  build --build-arg "JRE_IMAGE=$JRE" -t "$ZIPKIN" "$ctx/zipkin"
fi

if [ "$test_only" = 0 ] && ! have_image "$NODE"; then
  log "building $NODE (this machine's node $(node --version)) ..."
  mkdir -p "$ctx/node" && cp "$here/node/Dockerfile" "$ctx/node/"
  cp "$(command -v node)" "$ctx/node/node"
  cp -r "$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")" "$ctx/node/npm"
  mkdir -p "$ctx/node/extra-ca"
  for crt in /usr/local/share/ca-certificates/*.crt; do [ -f "$crt" ] && cp "$crt" "$ctx/node/extra-ca/"; done
  build --build-arg "BASE_IMAGE=$BASE" -t "$NODE" "$ctx/node"
fi

log "images ready:"
print_env
