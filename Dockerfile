# The ledger API, built from this repository. better-sqlite3 compiles from source, hence the toolchain
# of the full node image; `npm ci` also builds dist/ (the prepare script), so the sources go in first.
FROM node:20-bookworm AS build
WORKDIR /app
COPY . .
RUN npm ci && npm prune --omit=dev

# The image runs the API only: no benchmarks, no dev dependencies, as the unprivileged `node` user.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 LEDGER_SQLITE_PATH=/app/data/ledger.sqlite
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/apps ./dist/apps
COPY --from=build /app/dist/libs ./dist/libs
COPY --from=build /app/bin ./bin
COPY package.json tsconfig.base.json ./
RUN mkdir -p /app/data && chown node:node /app/data
USER node
VOLUME ["/app/data"]
EXPOSE 3000
# Ready: the store answers, the projector has not halted and is not far behind (see /health/ready).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "-r", "./bin/register-paths.js", "dist/apps/ledger-api/src/main.js"]
