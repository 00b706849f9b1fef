# syntax=docker/dockerfile:1
# One image for the API, the worker and the ops CLI; the command picks the process:
#   npm run start:api | npm run start:worker | npm run ops -- <command>

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: all dependencies, compile TypeScript, then drop the dev dependencies ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# npm 11 honours package.json's allowScripts, the install scripts the project approved.
RUN npm install --global npm@11
COPY package.json package-lock.json ./
# `npm install`, not `npm ci`: the lock file lacks other platforms' optional binaries.
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY apps apps
COPY libs libs
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: production dependencies, compiled code, migrations; not root ----
FROM ${NODE_IMAGE} AS runtime
# pg_dump and pg_restore for `npm run ops -- backup|restore`: Debian bookworm's client is
# major 15, the major of the stack's Postgres.
RUN apt-get update \
  && apt-get install -y --no-install-recommends postgresql-client \
  && rm -rf /var/lib/apt/lists/*
# The image holds dist/ already and no compiler: the npm scripts run without their
# pre-hooks (which build), so `npm run start:api` here runs exactly `node dist/...`.
# bash runs a one-command script by exec'ing it, so node is npm's direct child and gets the
# SIGTERM of `docker compose stop` to drain gracefully (sh would keep it and drop the signal).
ENV NODE_ENV=production \
  npm_config_ignore_scripts=true \
  npm_config_script_shell=/bin/bash \
  npm_config_update_notifier=false \
  npm_config_fund=false
WORKDIR /app
COPY --from=build /app/package.json /app/nest-cli.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY supabase/migrations supabase/migrations
# Where the ops CLI writes backups inside the container (a volume in docker-compose.yml).
RUN mkdir /backups && chown node:node /backups
# The unprivileged account shell tasks run as (TASK_RUN_AS_USER=task in docker-compose.yml):
# no login, no home, owner of nothing but each task's own working directory.
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin task
USER node
EXPOSE 3000
CMD ["npm", "run", "start:api"]
