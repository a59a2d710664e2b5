# syntax=docker/dockerfile:1
# Depesche runs its TypeScript sources directly: Node 24 strips types natively, so there
# is no compile step, only production dependencies to install.

FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency needs an install script at runtime, and the pinned
# `node` devDependency is not installed at all with --omit=dev.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY worker ./worker
COPY templates ./templates
COPY locales ./locales
COPY issues ./issues
# The image's own `node` user; nothing here needs root, and .depesche/ must be writable.
RUN mkdir -p /app/.depesche/spool && chown -R node:node /app/.depesche
USER node
EXPOSE 3000 3001
ENTRYPOINT ["node", "bin/depesche.js"]
CMD ["serve", "--host", "0.0.0.0", "--admin-host", "0.0.0.0"]
