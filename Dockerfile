# The ledger API, built from this repository. better-sqlite3 compiles from source, hence the toolchain
# of the full node image; `npm ci` also builds dist/ (the prepare script), so the sources go in first.
FROM node:20-bookworm AS build
WORKDIR /app
COPY . .
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY package.json tsconfig.base.json ./
EXPOSE 3000
CMD ["node", "-r", "./bin/register-paths.js", "dist/apps/ledger-api/src/main.js"]
