# One image for both services. The default command serves the catalogue; the enrolment service runs the
# same image with the command  gunicorn -c gunicorn.conf.py "enrolment:create_app()"  (docker-compose.yml).
# Migrations and the cron jobs use it too: flask --app catalogue db upgrade, and so on.

# -- build: install the project (without the dev extras) into a virtualenv -----------------------------
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
WORKDIR /src
# README.md is the package's long description (pyproject.toml), so the build needs it.
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY catalogue ./catalogue
COPY enrolment ./enrolment
RUN /opt/venv/bin/pip install .

# -- run ------------------------------------------------------------------------------------------------
FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=8000

RUN groupadd --system --gid 10001 glu \
 && useradd --system --uid 10001 --gid glu --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin glu
COPY --from=build /opt/venv /opt/venv
# Flask makes each app's instance folder at start-up (under the virtualenv for an installed package);
# the non-root user cannot create it there, so it is made here and given to that user.
RUN set -e; for app in catalogue enrolment; do \
      dir="$(python -c 'import flask, sys; print(flask.Flask(sys.argv[1]).instance_path)' "$app")"; \
      mkdir -p "$dir"; chown glu:glu "$dir"; \
    done

WORKDIR /app
COPY gunicorn.conf.py ./
USER 10001:10001
EXPOSE 8000

# Exec form: gunicorn is PID 1 and gets the SIGTERM of `docker stop` (a graceful shutdown, see graceful_timeout).
CMD ["gunicorn", "-c", "gunicorn.conf.py", "catalogue:create_app()"]
