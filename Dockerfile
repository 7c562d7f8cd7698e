# syntax=docker/dockerfile:1
#
# Donghaeng Care platform image: broker, ingest, alerts and web in one Node process.
# It expects an external InfluxDB (INFLUX_URL); the image carries no influxd, so
# the "managed local influxd" mode of `npm start` is not available inside it.
# docker-compose.yml pairs it with InfluxDB 2.7.

# ---- build: compile TypeScript and better-sqlite3's native addon ----------
FROM node:20-bookworm AS build
WORKDIR /app
# node:20-bookworm already has python3, make and g++ for node-gyp.
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build \
 && npm prune --omit=dev

# ---- runtime ---------------------------------------------------------------
# Same Debian release as the build stage, so the compiled better-sqlite3
# addon links against the same glibc/libstdc++.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    DATA_DIR=/data \
    HOST=0.0.0.0
WORKDIR /app
# Code stays root-owned (read-only to the service); only /data is writable.
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/public ./web/public
# Create /data owned by `node` before declaring the volume, so a fresh named
# volume inherits that ownership.
RUN mkdir -p /data && chown node:node /data
VOLUME /data
USER node
# MQTT/TCP, MQTT/WebSocket (/mqtt), HTTP console + API + Socket.io
EXPOSE 1883 9001 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HTTP_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# As `npm start` (package.json): a 64 MB semi-space, see docs/decisions.md "Young generation".
CMD ["node", "--max-semi-space-size=64", "dist/main.js"]
