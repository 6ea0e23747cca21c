# fastify-easemob-callback: the standalone callback service (dist/service/main.js).
#
#   docker build -t fastify-easemob-callback .
#   docker run --rm -p 8081:8081 -e EASEMOB_SECRETS=... -v easemob-data:/app/data fastify-easemob-callback
#
# The package needs Node.js >= 20.19 (package.json "engines"); node:20-bookworm-slim is
# the newest 20.x on Debian 12. To pin it harder, pass a digest:
#   docker build --build-arg NODE_IMAGE=node:20-bookworm-slim@sha256:... .
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compilers for better-sqlite3, all dependencies, TypeScript compiled to dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app

# Fail early on a stale cached base image older than the package's engines field.
RUN node -e "const [a,b]=process.versions.node.split('.').map(Number);if(a<20||(a===20&&b<19)){console.error('Node.js >= 20.19 required, got '+process.version);process.exit(1)}"

# Behind a TLS-intercepting proxy, pass its CA certificate(s) in PEM:
#   docker build --build-arg EXTRA_CA_CERTS="$(cat proxy-ca.pem)" .
# They are trusted by this build stage only; nothing of them reaches the runtime image.
ARG EXTRA_CA_CERTS=""
RUN printf '%s\n' "$EXTRA_CA_CERTS" > /usr/local/share/extra-ca.pem
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/extra-ca.pem

# better-sqlite3 builds its native module with node-gyp.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*

COPY package.json package-lock.json ./
# Node's own headers, where the official image has them, so that node-gyp needs no download.
# better-sqlite3 is optional for the package, not for the service: fail here, not at the first start.
RUN if [ -f /usr/local/include/node/node.h ]; then export npm_config_nodedir=/usr/local; fi \
 && npm ci --no-audit --no-fund \
 && node -e "require('better-sqlite3')"

COPY tsconfig.json tsconfig.build.json index.ts ./
COPY src ./src
COPY plugins ./plugins
COPY routes ./routes
COPY service ./service
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: production dependencies (already built), compiled code, samples ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app

# Owned by root and only readable by the service user: the app never writes to its own folder.
COPY package.json package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# samples/ is read at run time by the sender CLI, found next to package.json.
COPY samples ./samples

# The outbox lives here: mount a volume on it. The only folder the service writes to.
ENV DATA_DIR=/app/data
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME ["/app/data"]

# The official image's unprivileged user (uid 1000).
USER node

ENV PORT=8081
EXPOSE 8081

# No curl in slim images: node itself asks /readyz on the port the service listens on, every 5 s,
# so that the container is healthy within seconds of its start.
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "require('http').get({host:'127.0.0.1',port:process.env.PORT||8081,path:'/readyz',timeout:2500},r=>process.exit(r.statusCode===200?0:1)).on('timeout',()=>process.exit(1)).on('error',()=>process.exit(1))"]

# main.js stops within SHUTDOWN_TIMEOUT_MS of SIGTERM (in-flight callbacks answered first).
STOPSIGNAL SIGTERM
CMD ["node", "dist/service/main.js"]
