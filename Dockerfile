# syntax=docker/dockerfile:1
#
# Every deployable (the subgraphs and the router) from one file, chosen with build arguments. Build from the
# repository root; docker-compose.yml passes each service's arguments, e.g.:
#   docker build -t cap-identity \
#     --build-arg PACKAGE=@cap/identity --build-arg SERVICE_DIR=subgraphs/identity --build-arg PORT=4001 \
#     --build-arg REQUIRED_PATHS=subgraphs/identity/prisma/migrations .
#
# Arguments (PACKAGE, SERVICE_DIR and PORT are required):
#   PACKAGE         the workspace package to build (`@cap/identity`).
#   SERVICE_DIR     its folder (`subgraphs/identity`); the image runs `$SERVICE_DIR/dist/main.js`.
#   PORT            the port it listens on: ENV PORT, EXPOSE and the HEALTHCHECK's GET /health.
#   REQUIRED_PATHS  paths the built image cannot work without, checked at build time (a subgraph's
#                   prisma/migrations: it applies them at start; ml-classifier's committed model).
#   EXTRA_FILES     root files turbo prune leaves out that the service reads at run time, copied to the same
#                   path under /app (the router's schema/supergraph.graphql, its default SUPERGRAPH_PATH).
#   DATA_DIRS       writable folders under .data besides .data itself (chat: .data/attachments).
#   APT_PACKAGES    Debian packages for the runtime (orchestration: git, ca-certificates and bubblewrap).
#
# prune:   the slice of the workspace the package depends on (turbo prune), so other deployables' dependencies
#          (Angular, onnxruntime, Chromium) never enter its image.
# build:   npm ci from the pruned lockfile, turbo build of the package and its packages, then drop dev deps.
# runtime: node:20-slim, production dependencies only, non-root.

FROM node:20-slim AS base
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false \
    TURBO_TELEMETRY_DISABLED=1

FROM base AS prune
ARG PACKAGE
ARG SERVICE_DIR
ARG PORT
RUN test -n "$PACKAGE" && test -n "$SERVICE_DIR" && test -n "$PORT" \
    || { echo "build arguments PACKAGE, SERVICE_DIR and PORT are required (see docker-compose.yml)" >&2; exit 1; }
COPY . .
RUN test -f "$SERVICE_DIR/package.json" \
    && test "$(node -p "require('./$SERVICE_DIR/package.json').name")" = "$PACKAGE" \
    || { echo "$SERVICE_DIR/package.json is not $PACKAGE" >&2; exit 1; }
# The turbo version pinned in the root package.json, run before anything is installed.
RUN npx --yes "turbo@$(node -p "require('./package.json').devDependencies.turbo")" prune "$PACKAGE" --docker

FROM base AS build
ARG PACKAGE
ARG REQUIRED_PATHS=""
ARG EXTRA_FILES=""
COPY --from=prune /app/out/json/ ./
RUN --mount=type=cache,target=/root/.npm npm ci
COPY --from=prune /app/out/full/ ./
# Root files turbo prune leaves out but every package's tsconfig extends.
COPY tsconfig.base.json ./
RUN npx turbo run build "--filter=$PACKAGE..."
RUN --mount=type=bind,from=prune,source=/app,target=/repo \
    for path in $EXTRA_FILES; do \
      mkdir -p "$(dirname "$path")" && cp -R "/repo/$path" "$path" \
      || { echo "$path is missing" >&2; exit 1; }; \
    done
RUN for path in $REQUIRED_PATHS; do \
      test -e "$path" || { echo "$path is missing" >&2; exit 1; }; \
    done
RUN npm prune --omit=dev && rm -rf .turbo node_modules/.cache

FROM base AS runtime
ARG SERVICE_DIR
ARG PORT
ARG DATA_DIRS=""
ARG APT_PACKAGES=""
# SERVICE_MAIN persists the entry point for CMD: an exec-form CMD is JSON and never expands variables.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=$PORT \
    SERVICE_MAIN=$SERVICE_DIR/dist/main.js
RUN if [ -n "$APT_PACKAGES" ]; then \
      apt-get update \
      && apt-get install -y --no-install-recommends $APT_PACKAGES \
      && rm -rf /var/lib/apt/lists/*; \
    fi
COPY --from=build /app ./
# DATA_DIR (default .data) must be writable by the service user; so must DATA_DIRS (chat's local attachment
# storage, .data/attachments: mount a volume there, or set ATTACHMENT_STORAGE=s3). Orchestration's workspaces'
# parent (WORKSPACE_ROOT, default the OS temp dir) is writable too; its sandboxes run as this user (uid 1000
# inside their own user namespace).
RUN mkdir -p .data $DATA_DIRS && chown -R node:node .data
USER node
EXPOSE $PORT
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=5 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The shell only expands SERVICE_MAIN and `exec` replaces itself with node, so node is PID 1 and receives
# SIGTERM from `docker stop` directly (the graceful Shutdown), exactly as with `CMD ["node", "<dir>/dist/main.js"]`.
CMD ["/bin/sh", "-c", "exec node \"$SERVICE_MAIN\""]
