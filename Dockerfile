# syntax=docker/dockerfile:1
# netbox-aaa-gateway: docker build -t netbox-aaa-gateway .   (README: Deploy → Docker)
# Node 24 LTS on Debian slim; the suite runs on this major in CI (.ci/run) and `engines` allows it.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# better-sqlite3 compiles when no prebuilt binary fits the platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm ci --omit=dev

FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="netbox-aaa-gateway" \
      org.opencontainers.image.description="TACACS+/RADIUS sign-in in front of NetBox: group mapping, NetBox user provisioning, reverse proxy" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="0.1.0"
ENV NODE_ENV=production \
    LISTEN_HOST=0.0.0.0 \
    LISTEN_PORT=8080 \
    SESSION_SQLITE_PATH=/data/sessions.sqlite
WORKDIR /app
# A fixed uid, so a volume's ownership is predictable (chown 10001 /path/on/host).
RUN groupadd --system --gid 10001 gateway \
 && useradd --system --uid 10001 --gid gateway --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin gateway \
 && mkdir /data \
 && chown gateway:gateway /data
COPY package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY views ./views
COPY public ./public
USER 10001:10001
# Sessions and login regulation counts; the rest of the filesystem may be read-only.
VOLUME ["/data"]
EXPOSE 8080
# SIGTERM drains: requests in flight get SHUTDOWN_GRACE (25 s) to finish. Give `docker stop` a longer -t.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 CMD ["node", "dist/cli/healthcheck.js"]
CMD ["node", "--enable-source-maps", "dist/main.js"]
