#!/usr/bin/env bash
# Start the system on SQLite with seed data: the catalogue on :5001. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export GLU_TOKEN_SECRET="${GLU_TOKEN_SECRET:-$(cat .glu-secret)}"
CATALOGUE_PORT="${CATALOGUE_PORT:-5001}"
export CATALOGUE_PUBLIC_URL="${CATALOGUE_PUBLIC_URL:-http://127.0.0.1:$CATALOGUE_PORT}"

flask --app catalogue db upgrade
flask --app catalogue seed

cat <<MSG

  Kataloget (catalogue)  $CATALOGUE_PUBLIC_URL/offerings
  API-dokumentation      $CATALOGUE_PUBLIC_URL/docs   (OpenAPI: $CATALOGUE_PUBLIC_URL/openapi.json)

  En adgangsnøgle til en skole (her skole 1):
    GLU_TOKEN_SECRET=\$(cat .glu-secret) .venv/bin/flask --app catalogue issue-token --role school --provider 1

MSG

exec gunicorn --no-control-socket --workers 2 --bind "127.0.0.1:$CATALOGUE_PORT" "catalogue:create_app()"
