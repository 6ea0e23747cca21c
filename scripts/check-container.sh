#!/usr/bin/env bash
# Checks the container files without a Docker engine (none runs on the CI machines, and no
# image registry is reachable): the compose files are validated by Debian's docker-compose (v1),
# the Dockerfile is linted by dockerfile-utils (a devDependency). No image is built or run here;
# the README says how the image was built and run with a local engine.
set -euo pipefail
cd "$(dirname "$0")/.."

checked=()
skipped=()

# ---- docker-compose.yml ----
echo "== docker-compose.yml: docker-compose config -q"
if ! command -v docker-compose >/dev/null 2>&1; then
  echo "docker-compose not found; installing Debian's docker-compose package"
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 \
    && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; then
    echo "installed: $(docker-compose version --short 2>/dev/null || echo docker-compose)"
  else
    echo "WARNING: could not install docker-compose (apt unreachable or not root): docker-compose.yml is NOT validated, skipping that check" >&2
  fi
fi
if command -v docker-compose >/dev/null 2>&1; then
  # A dummy secret only satisfies the required ${EASEMOB_SECRETS:?...} interpolation.
  EASEMOB_SECRETS=dummy-secret-for-config-check docker-compose -f docker-compose.yml config -q
  echo "ok: docker-compose.yml is valid ($(docker-compose version --short 2>/dev/null || echo docker-compose v1))"
  # The required variable must really be required: without it (and with an empty env file in
  # place of any local .env), config has to fail, and say why.
  empty_env="$(mktemp)"
  missing_out="$(env -u EASEMOB_SECRETS docker-compose -f docker-compose.yml --env-file "$empty_env" config -q 2>&1)" \
    && missing_rc=0 || missing_rc=$?
  rm -f "$empty_env"
  if [ "$missing_rc" -eq 0 ] || ! grep -q 'set EASEMOB_SECRETS' <<<"$missing_out"; then
    echo "FAIL: docker-compose.yml without EASEMOB_SECRETS: expected the 'set EASEMOB_SECRETS' error, got (exit $missing_rc): $missing_out" >&2
    exit 1
  fi
  echo "ok: docker-compose.yml refuses to start without EASEMOB_SECRETS"
  checked+=("docker-compose.yml: schema and interpolation (docker-compose config -q), EASEMOB_SECRETS required")
  for file in deploy/compose.*.yml; do
    EASEMOB_SECRETS=dummy-secret-for-config-check docker-compose -f "$file" config -q
    echo "ok: $file is valid"
    checked+=("$file: schema and interpolation")
  done
else
  skipped+=("WARNING: docker-compose.yml NOT validated (docker-compose could not be installed)")
fi

# ---- Dockerfile ----
echo "== Dockerfile: dockerfile-utils lint"
# The CLI exits 1 only on errors and 0 on warnings, so read its JSON output instead and fail
# on any diagnostic at all. It prints "File not found" (exit 1) when there is no Dockerfile.
lint_rc=0
lint_json="$(npx --no-install dockerfile-utils lint --json Dockerfile 2>&1)" || lint_rc=$?
LINT_JSON="$lint_json" LINT_RC="$lint_rc" node -e '
  const raw = process.env.LINT_JSON
  let diagnostics
  try { diagnostics = JSON.parse(raw) } catch {}
  if (!Array.isArray(diagnostics)) {
    console.error(`FAIL: dockerfile-utils lint (exit ${process.env.LINT_RC}): ${raw}`)
    process.exit(1)
  }
  for (const d of diagnostics) console.error(`Dockerfile:${d.range.start.line + 1}: ${d.severity}: ${d.message}`)
  if (diagnostics.length > 0 || process.env.LINT_RC !== "0") {
    console.error(`FAIL: dockerfile-utils reported ${diagnostics.length} problem(s) (exit ${process.env.LINT_RC})`)
    process.exit(1)
  }
'
echo "ok: Dockerfile has no errors or warnings ($(npx --no-install dockerfile-utils --version))"
checked+=("Dockerfile: syntax and instruction lint (dockerfile-utils, errors and warnings both fail)")

# ---- the image itself, when a Docker engine answers ----
if docker info >/dev/null 2>&1; then
  echo "== image: build and run (a Docker engine answers)"
  bash scripts/check-image.sh
  checked+=("the image: built, a signed callback answered 200 as a non-root user, healthy within 10 s, docker stop within the grace period")
else
  skipped+=("no image was built or run: no Docker engine answers here (scripts/check-image.sh does it where one does)")
fi

echo
echo "Container checks done."
echo "Checked:"
for item in "${checked[@]}"; do echo "  - $item"; done
echo "Not checked:"
for item in "${skipped[@]}"; do echo "  - $item"; done
