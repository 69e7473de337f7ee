#!/usr/bin/env bash
# The spec's manual procedure (seed: live-chat-deploy-checklist.zh-CN.md, sections 1-5), typed out as an
# operator would run it on the host, as root, step by step. benchmarks/run times it on a fresh container
# prepared exactly like the one the Ansible deploy gets, as the floor the automated cold deploy is compared to.
#
# It runs INSIDE the container (docker exec). Before it starts, benchmarks/run has copied in, within the timed
# span: the chat-server source to $CODE_DIR (the site repository's services/chat-server) and the offline
# Prisma schema engine bridge (roles/chat_server/files/prisma-engine-bridge, without node_modules) to
# $BRIDGE_DIR, because Prisma's native engine host is unreachable here; the role uses the same bridge the
# same way (PRISMA_SCHEMA_ENGINE_BINARY). Secrets come from a 0600 file, never from the command line.
#
# Environment: CODE_DIR, BRIDGE_DIR, SITE_ROOT, NGINX_SITE, PM2_VERSION, SECRETS_FILE (KEY=value lines:
# JWT_SECRET, DB_PASSWORD), ALLOWED_ORIGIN, ADMIN_ORIGIN, SITE_HOST.
set -euo pipefail
: "${CODE_DIR:?}" "${BRIDGE_DIR:?}" "${SITE_ROOT:?}" "${NGINX_SITE:?}" "${PM2_VERSION:?}" "${SECRETS_FILE:?}"
: "${ALLOWED_ORIGIN:?}" "${ADMIN_ORIGIN:?}" "${SITE_HOST:?}"
# shellcheck disable=SC1090
. "$SECRETS_FILE"
: "${JWT_SECRET:?}" "${DB_PASSWORD:?}"
export DEBIAN_FRONTEND=noninteractive
step() { printf '\n### %s\n' "$*"; }

step "packages: PostgreSQL, Node.js and npm from Debian (the site's Nginx is already there)"
apt-get install -y -q postgresql nodejs npm

step "the chat-server's own PostgreSQL database (CHAT_DATABASE_URL)"
systemctl enable --now postgresql
runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 <<SQL
CREATE ROLE chat LOGIN PASSWORD '${DB_PASSWORD}';
CREATE DATABASE chat OWNER chat ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0;
SQL

step "PM2 (the spec runs the chat-server under PM2)"
npm install -g --no-audit --no-fund "pm2@${PM2_VERSION}"

step "section 3: services/chat-server/.env from .env.example"
cd "$CODE_DIR"
umask 077
# filled in with shell builtins only, so no secret ever shows up in a process list
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    CHAT_SERVER_PORT=*) printf 'CHAT_SERVER_PORT=4000\n' ;;
    CHAT_DATABASE_URL=*) printf 'CHAT_DATABASE_URL=postgresql://chat:%s@127.0.0.1:5432/chat\n' "$DB_PASSWORD" ;;
    CHAT_ADMIN_JWT_SECRET=*) printf 'CHAT_ADMIN_JWT_SECRET=%s\n' "$JWT_SECRET" ;;
    CHAT_ALLOWED_ORIGINS=*) printf 'CHAT_ALLOWED_ORIGINS=%s\n' "$ALLOWED_ORIGIN" ;;
    ADMIN_ALLOWED_ORIGINS=*) printf 'ADMIN_ALLOWED_ORIGINS=%s\n' "$ADMIN_ORIGIN" ;;
    *) printf '%s\n' "$line" ;;
  esac
done <.env.example >.env
umask 022

step "offline Prisma schema engine (the same bridge the role installs)"
(cd "$BRIDGE_DIR" && npm ci --omit=dev --no-audit --no-fund)
export PRISMA_SCHEMA_ENGINE_BINARY="$BRIDGE_DIR/bridge.js"

step "section 2: npm ci, prisma generate, migrate deploy, pm2 start, save, status"
npm ci --no-audit --no-fund
npm run prisma:generate
npx prisma migrate deploy --schema prisma/schema.prisma
pm2 start npm --name chat-server -- start
pm2 save
pm2 status

step "section 1: the three keys in the main site's .env"
site_env="$SITE_ROOT/.env"
for key in CHAT_ADMIN_JWT_SECRET CHAT_SERVER_INTERNAL_URL NEXT_PUBLIC_CHAT_SERVER_URL; do
  sed -i "/^\(export \)\?${key}=/d" "$site_env"
done
printf 'CHAT_ADMIN_JWT_SECRET=%s\nCHAT_SERVER_INTERNAL_URL=http://127.0.0.1:4000\nNEXT_PUBLIC_CHAT_SERVER_URL=\n' \
  "$JWT_SECRET" >>"$site_env"

step "section 4: the three locations in the site's server block, nginx -t, reload"
cat >/tmp/chat-locations.conf <<'NGINX'

    # 聊天 HTTP 接口与静态
    location /chat/ {
      proxy_pass http://127.0.0.1:4000;
      proxy_set_header Host $host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }

    # 访客 WebSocket
    location /ws-visitor/ {
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_pass http://127.0.0.1:4000;
      proxy_set_header Host $host;
      proxy_set_header X-Real-IP $remote_addr;
    }

    # 客服 WebSocket
    location /ws-admin/ {
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_pass http://127.0.0.1:4000;
      proxy_set_header Host $host;
      proxy_set_header X-Real-IP $remote_addr;
    }
NGINX
# insert before the closing brace of the (only) server block
last=$(grep -n '^}' "$NGINX_SITE" | tail -1 | cut -d: -f1)
sed -i "$((last - 1))r /tmp/chat-locations.conf" "$NGINX_SITE"
nginx -t
systemctl reload nginx

step "section 5: self-check (curl /chat/health on the host and through Nginx; bounded)"
for _ in $(seq 1 90); do
  if curl -fsS -m 2 http://127.0.0.1:4000/chat/health >/dev/null 2>&1 \
    && curl -fsS -m 2 -H "Host: ${SITE_HOST}" http://127.0.0.1/chat/health >/dev/null 2>&1; then
    curl -sS -H "Host: ${SITE_HOST}" http://127.0.0.1/chat/health
    echo
    echo "MANUAL_OK"
    exit 0
  fi
  sleep 1
done
echo "chat-server did not answer /chat/health within 90 s" >&2
pm2 logs chat-server --lines 40 --nostream >&2 || true
exit 1
