#!/usr/bin/env bash
# Builds the image and runs it as a user would: a signed callback answered 200, a non-root user,
# healthy within 10 s, stopped within the grace period. Needs a Docker engine (docker info).
#   NODE_IMAGE=...        base image (default the Dockerfile's)
#   EXTRA_CA_CERTS=FILE   PEM file of a TLS-intercepting proxy's CA, for the build stage
#   IMAGE_PORT=18081      port on the host network
set -euo pipefail
cd "$(dirname "$0")/.."
image=fastify-easemob-callback:check
name=easemob-callback-check
port=${IMAGE_PORT:-18081}
args=(--network=host -t "$image")
[ -n "${NODE_IMAGE:-}" ] && args+=(--build-arg "NODE_IMAGE=$NODE_IMAGE")
[ -n "${EXTRA_CA_CERTS:-}" ] && args+=(--build-arg "EXTRA_CA_CERTS=$(cat "$EXTRA_CA_CERTS")")
docker build "${args[@]}" . >/tmp/check-image-build.log 2>&1 || { tail -30 /tmp/check-image-build.log; echo "FAIL: docker build" >&2; exit 1; }
echo "ok: image built"

docker rm -f "$name" >/dev/null 2>&1 || true
cleanup () { docker rm -f "$name" >/dev/null 2>&1 || true; docker volume rm "$name-data" >/dev/null 2>&1 || true; }
trap cleanup EXIT
docker run -d --name "$name" --network=host -e PORT="$port" -e EASEMOB_SECRETS=test-secret -v "$name-data:/app/data" "$image" >/dev/null
healthy=''
for _ in $(seq 1 20); do
  [ "$(docker inspect -f '{{.State.Health.Status}}' "$name")" = healthy ] && { healthy=yes; break; }
  sleep 0.5
done
[ -n "$healthy" ] || { docker logs "$name" | tail -20; echo "FAIL: not healthy within 10 s" >&2; exit 1; }
echo "ok: healthy within 10 s"
[ "$(docker exec "$name" id -u)" != 0 ] || { echo "FAIL: runs as root" >&2; exit 1; }
echo "ok: runs as uid $(docker exec "$name" id -u)"
answer=$(docker exec "$name" node dist/src/cli/send.js txt --url "http://127.0.0.1:$port/" --secret test-secret)
grep -q '200 {"status":"ok"}' <<<"$answer" || { echo "FAIL: a signed callback was not answered 200: $answer" >&2; exit 1; }
echo "ok: a signed callback answered 200"
start=$(date +%s)
docker stop -t 20 "$name" >/dev/null
took=$(( $(date +%s) - start ))
[ "$(docker inspect -f '{{.State.ExitCode}}' "$name")" = 0 ] || { echo "FAIL: exit code $(docker inspect -f '{{.State.ExitCode}}' "$name") after docker stop" >&2; exit 1; }
echo "ok: docker stop took ${took} s (grace 20 s), exit code 0"
