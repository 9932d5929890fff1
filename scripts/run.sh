#!/usr/bin/env bash
# Start the whole system on SQLite with seed data: the catalogue on :5001, the enrolment service
# on :5002, each under gunicorn with its own database file, each service's background jobs
# (python -m shared.jobs, its queue in instance/<service>-jobs.sqlite3), and a local mail server
# that keeps every mail in instance/mailbox (a Maildir). Ctrl-C stops all of them.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export GLU_TOKEN_SECRET="${GLU_TOKEN_SECRET:-$(cat .glu-secret)}"
CATALOGUE_PORT="${CATALOGUE_PORT:-5001}"
ENROLMENT_PORT="${ENROLMENT_PORT:-5002}"
MAIL_PORT="${MAIL_PORT:-1025}"
export CATALOGUE_PUBLIC_URL="${CATALOGUE_PUBLIC_URL:-http://127.0.0.1:$CATALOGUE_PORT}"
export ENROLMENT_PUBLIC_URL="${ENROLMENT_PUBLIC_URL:-http://127.0.0.1:$ENROLMENT_PORT}"
export CATALOGUE_URL="${CATALOGUE_URL:-http://127.0.0.1:$CATALOGUE_PORT}"
export ENROLMENT_URL="${ENROLMENT_URL:-http://127.0.0.1:$ENROLMENT_PORT}"
export ENROLMENT_PUBLIC_URL
# Mail goes to the local mail server below, always: the demo data's addresses are made up, and a
# real SMTP server in the calling shell's environment must not get them.
export SMTP_HOST=127.0.0.1 SMTP_PORT="$MAIL_PORT" SMTP_STARTTLS=false
unset SMTP_USERNAME SMTP_PASSWORD
MAILBOX="$PWD/instance/mailbox"
# Both services show what arrived there at /postkasse (shared/mailbox.py): sign-in links included.
export MAILBOX_DIR="$MAILBOX"

for service in catalogue enrolment; do
  flask --app "$service" db upgrade
  flask --app "$service" seed
done

# Every process started here is stopped on Ctrl-C, on `kill` of this script and when any one of them
# exits; this waits for them to finish (the consumers finish a running job first).
stop_all() {
  trap - EXIT INT TERM
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop_all EXIT INT TERM

# Maildir makes its tmp/, new/ and cur/ only in a folder it creates itself, so they are made here.
mkdir -p "$MAILBOX/tmp" "$MAILBOX/new" "$MAILBOX/cur"
python -m aiosmtpd -n -l "127.0.0.1:$MAIL_PORT" -c aiosmtpd.handlers.Mailbox "$MAILBOX" &

# gunicorn 27 opens one control socket per user; two services on one machine would collide on it.
# Each service counts its metrics across workers in a folder of its own (prometheus_client multiprocess mode).
serve() {
  mkdir -p "instance/metrics/$2"
  PROMETHEUS_MULTIPROC_DIR="$PWD/instance/metrics/$2" \
    gunicorn --no-control-socket --workers 2 --bind "127.0.0.1:$1" "$2:create_app()" &
}
serve "$CATALOGUE_PORT" catalogue
serve "$ENROLMENT_PORT" enrolment

# One consumer per service: its jobs, retries, scheduled and periodic jobs (shared/jobs.py).
for service in catalogue enrolment; do
  python -m shared.jobs "$service" &
done

cat <<MSG

  Kataloget (catalogue)   $CATALOGUE_PUBLIC_URL/          API: $CATALOGUE_PUBLIC_URL/offerings   dokumentation: $CATALOGUE_PUBLIC_URL/docs
  Tilmelding (enrolment)  $ENROLMENT_PUBLIC_URL/hr        API: $ENROLMENT_PUBLIC_URL/enrolments  dokumentation: $ENROLMENT_PUBLIC_URL/docs
  Skolernes side          $CATALOGUE_PUBLIC_URL/skole       (log ind som fx admin@mercantec.example)
  HR's side               $ENROLMENT_PUBLIC_URL/hr          (log ind som fx admin@viborg.example)

  E-mails                 sendes ikke ud; læs dem på  $CATALOGUE_PUBLIC_URL/postkasse  (også log ind-links)
                          Maildir: $MAILBOX, SMTP-server på 127.0.0.1:$MAIL_PORT
  Baggrundsjob            python -m shared.jobs catalogue / enrolment, køerne i instance/*-jobs.sqlite3

  Data er demodata: rigtige skoler og kommuner, opdigtede udbud og personer (README: "Demo people").
  Adgangsnøgle for en administrator (API'et, og siderne /skole/log-ind og /hr/log-ind):
    GLU_TOKEN_SECRET=\$(cat .glu-secret) .venv/bin/flask --app enrolment issue-token --role admin

MSG
wait -n
