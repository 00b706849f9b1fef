#!/bin/sh
# Writes .env from .env.example with every secret generated, once, before the first
# `docker compose up` (or a first start without compose). Never overwrites an .env.
set -eu
cd "$(dirname "$0")/.."

if [ -e .env ]; then
  echo "init-env: .env exists; not touching it (remove it to start over, keeping its secrets if data depends on them)" >&2
  exit 1
fi
if ! command -v openssl >/dev/null 2>&1; then
  echo "init-env: openssl is needed (Debian/Ubuntu: sudo apt-get install openssl)" >&2
  exit 1
fi

postgres_password=$(openssl rand -hex 24)
umask 077
sed \
  -e "s|^POSTGRES_PASSWORD=.*|POSTGRES_PASSWORD=${postgres_password}|" \
  -e "s|^ENCRYPTION_KEY=.*|ENCRYPTION_KEY=$(openssl rand -base64 32)|" \
  -e "s|^JWT_SECRET=.*|JWT_SECRET=$(openssl rand -hex 32)|" \
  -e "s|^PLATFORM_ADMIN_TOKEN=.*|PLATFORM_ADMIN_TOKEN=plat_admin_$(openssl rand -hex 32)|" \
  -e "s|^REALTIME_DB_ENC_KEY=.*|REALTIME_DB_ENC_KEY=$(openssl rand -hex 8)|" \
  -e "s|^REALTIME_SECRET_KEY_BASE=.*|REALTIME_SECRET_KEY_BASE=$(openssl rand -hex 32)|" \
  -e "s|^POSTGREST_DB_URI=.*|POSTGREST_DB_URI=postgres://authenticator:${postgres_password}@db:5432/postgres|" \
  .env.example >.env
echo "init-env: wrote .env (mode 600) with generated secrets; keep a copy somewhere safe"
