# syntax=docker/dockerfile:1
# MCP Financial Ops: one image, four commands.
#   docker build -t mcp-financial-ops:0.1.0 .
#   docker run --env-file .env mcp-financial-ops:0.1.0 server   (or bot, workers, sandbox)
# Expected size: about 210 MB uncompressed (node:20-alpine ~135 MB, production
# node_modules ~73 MB, dist/ + runbooks + config ~3 MB), ~65 MB compressed.
# Estimated from the parts; the image was never built where this was written.

ARG NODE_IMAGE=node:20-alpine
# No install script may fetch anything (artillery, a devDependency, pulls in playwright's browser package);
# nothing we build or run needs one.
ARG NPM_CI="npm ci --ignore-scripts --no-audit --no-fund"

# 1. Compile TypeScript to dist/ (CommonJS + source maps) with every dependency.
FROM ${NODE_IMAGE} AS build
ARG NPM_CI
ENV PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
WORKDIR /app
COPY package.json package-lock.json ./
RUN ${NPM_CI}
COPY tsconfig.json tsconfig.build.json ./
COPY lib ./lib
COPY server ./server
COPY bot ./bot
COPY workers ./workers
COPY sandbox ./sandbox
COPY scripts ./scripts
RUN npm run build

# 2. Production dependencies only.
FROM ${NODE_IMAGE} AS deps
ARG NPM_CI
WORKDIR /app
COPY package.json package-lock.json ./
RUN ${NPM_CI} --omit=dev && npm cache clean --force

# 3. Runtime: no compiler, no dev dependencies, not root.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    MAINTENANCE_STATUS_FILE=/app/var/status \
    BACKUP_DIR=/app/var/backups \
    EVIDENCE_DIR=/app/var/evidence
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Read at run time by path, next to package.json (lib/package-root.ts finds them).
COPY package.json ./
COPY runbooks ./runbooks
COPY config ./config
COPY monitoring/rules ./monitoring/rules
COPY monitoring/prometheus.yml monitoring/alertmanager.yml ./monitoring/
COPY docker/entrypoint.sh /usr/local/bin/mfo-entrypoint
RUN mkdir -p /app/var && chown node:node /app/var
USER node
EXPOSE 3000 3001 3002
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "dist/scripts/container-health.js"]
ENTRYPOINT ["mfo-entrypoint"]
CMD ["server"]
