# fastify-easemob-callback: the standalone callback service (dist/src/service/main.js).
#
#   docker build -t fastify-easemob-callback .
#   docker run --rm -p 8081:8081 -e EASEMOB_SECRETS=... fastify-easemob-callback
#
# The package needs Node.js >= 20.19 (package.json "engines"); node:20-bookworm-slim is
# the newest 20.x on Debian 12. To pin it harder, pass a digest:
#   docker build --build-arg NODE_IMAGE=node:20-bookworm-slim@sha256:... .
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: all dependencies, TypeScript compiled to dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app

# Fail early on a stale cached base image older than the package's engines field.
RUN node -e "const [a,b]=process.versions.node.split('.').map(Number);if(a<20||(a===20&&b<19)){console.error('Node.js >= 20.19 required, got '+process.version);process.exit(1)}"

COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY plugins ./plugins
COPY routes ./routes
RUN npm run build

# ---- runtime: production dependencies, compiled code, samples ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Owned by root and only readable by the service user: the app never writes to its own folder.
COPY --from=build /app/dist ./dist
# samples/ is read at run time by the sender CLI (dist/src/cli/send.js), found next to package.json.
COPY samples ./samples

# The official image's unprivileged user (uid 1000).
USER node

ENV PORT=8081
EXPOSE 8081

# No curl in slim images: node itself asks /healthz on the port the service listens on.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "require('http').get({host:'127.0.0.1',port:process.env.PORT||8081,path:'/healthz',timeout:4000},r=>process.exit(r.statusCode===200?0:1)).on('timeout',()=>process.exit(1)).on('error',()=>process.exit(1))"]

# main.js closes Fastify on SIGTERM (in-flight callbacks finish first), then exits.
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/service/main.js"]
