#!/usr/bin/env bash
# Start the whole system on SQLite with seed data: the catalogue on :5001, the enrolment service
# on :5002, each under gunicorn with its own database file. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export GLU_TOKEN_SECRET="${GLU_TOKEN_SECRET:-$(cat .glu-secret)}"
CATALOGUE_PORT="${CATALOGUE_PORT:-5001}"
ENROLMENT_PORT="${ENROLMENT_PORT:-5002}"
export CATALOGUE_PUBLIC_URL="${CATALOGUE_PUBLIC_URL:-http://127.0.0.1:$CATALOGUE_PORT}"
export ENROLMENT_PUBLIC_URL="${ENROLMENT_PUBLIC_URL:-http://127.0.0.1:$ENROLMENT_PORT}"
export CATALOGUE_URL="${CATALOGUE_URL:-http://127.0.0.1:$CATALOGUE_PORT}"
export ENROLMENT_URL="${ENROLMENT_URL:-http://127.0.0.1:$ENROLMENT_PORT}"
export ENROLMENT_PUBLIC_URL

for service in catalogue enrolment; do
  flask --app "$service" db upgrade
  flask --app "$service" seed
done

# gunicorn 27 opens one control socket per user; two services on one machine would collide on it.
# Each service counts its metrics across workers in a folder of its own (prometheus_client multiprocess mode).
serve() {
  mkdir -p "instance/metrics/$2"
  PROMETHEUS_MULTIPROC_DIR="$PWD/instance/metrics/$2" \
    gunicorn --no-control-socket --workers 2 --bind "127.0.0.1:$1" "$2:create_app()" &
}
trap 'kill $(jobs -p) 2>/dev/null' EXIT INT TERM
serve "$CATALOGUE_PORT" catalogue
serve "$ENROLMENT_PORT" enrolment

cat <<MSG

  Kataloget (catalogue)   $CATALOGUE_PUBLIC_URL/          API: $CATALOGUE_PUBLIC_URL/offerings   dokumentation: $CATALOGUE_PUBLIC_URL/docs
  Tilmelding (enrolment)  $ENROLMENT_PUBLIC_URL/hr        API: $ENROLMENT_PUBLIC_URL/enrolments  dokumentation: $ENROLMENT_PUBLIC_URL/docs
  Skolernes side          $CATALOGUE_PUBLIC_URL/skole

  Data er demodata: rigtige skoler og kommuner, opdigtede udbud og personer.
  Adgangsnøgler (fx HR i Viborg Kommune, skole 1):
    GLU_TOKEN_SECRET=\$(cat .glu-secret) .venv/bin/flask --app enrolment issue-token --role hr --organisation 791
    GLU_TOKEN_SECRET=\$(cat .glu-secret) .venv/bin/flask --app catalogue issue-token --role school --provider 1

MSG
wait -n
