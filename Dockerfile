# syntax=docker/dockerfile:1
# The modelship server: `modelship serve --config /etc/modelship/modelship.yaml`.
#
#   docker build -t modelship:0.1.0 .          # or: podman build -t modelship:0.1.0 .
#   docker run --rm -p 8080:8080 --read-only --tmpfs /tmp \
#     -v modelship-cache:/var/cache/modelship -v modelship-spool:/var/lib/modelship \
#     -v "$PWD/modelship.yaml:/etc/modelship/modelship.yaml:ro" -v "$PWD/models:/mnt/models:ro" \
#     modelship:0.1.0
#
# docs/operations.md walks through it; test/deploy/dockerfile.test.ts checks this file against written rules and
# runs its command line as the container would.

# Pinned to an exact Node 20 release on Debian 12 (bookworm) slim. For byte-for-byte reproducible builds add the
# digest your registry reports: --build-arg NODE_IMAGE=node:20.19.5-bookworm-slim@sha256:<digest>
ARG NODE_IMAGE=node:20.19.5-bookworm-slim

# ---- build: compile dist/ from the sources --------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# The lock covers the example workspaces: npm ci needs their manifests to accept it.
COPY package.json package-lock.json ./
COPY examples/express/package.json examples/express/package.json
COPY examples/nextjs/package.json examples/nextjs/package.json
COPY examples/vite-browser/package.json examples/vite-browser/package.json
# No install scripts: onnxruntime-node's would download GPU libraries; the CPU binding ships in the package.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsup.config.ts ./
COPY src ./src
RUN npm run build

# ---- deps: production dependencies only, from their own lock (deploy/image) ------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY deploy/image/package.json deploy/image/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
 && rm -rf node_modules/onnxruntime-node/bin/napi-v*/darwin node_modules/onnxruntime-node/bin/napi-v*/win32 \
 && npm cache clean --force

# ---- runtime ------------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    MODELSHIP_CACHE_DIR=/var/cache/modelship \
    MODELSHIP_SPOOL_DIR=/var/lib/modelship/spool \
    NO_COLOR=1
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /src/dist ./dist
COPY --chown=root:root package.json LICENSE ./
# The command on PATH, as npm links a package's "bin"; the only writable places are the two volumes.
RUN chmod 0755 /app/dist/cli.js \
 && ln -s /app/dist/cli.js /usr/local/bin/modelship \
 && mkdir -p /etc/modelship /mnt/models /var/cache/modelship /var/lib/modelship/spool \
 && chown -R 1000:1000 /var/cache/modelship /var/lib/modelship
VOLUME ["/var/cache/modelship", "/var/lib/modelship"]
# The node user of the base image, by number so that Kubernetes' runAsNonRoot can check it.
USER 1000:1000
EXPOSE 8080 9000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["modelship", "serve", "--config", "/etc/modelship/modelship.yaml"]
