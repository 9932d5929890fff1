"""The yardstick: a bare Flask endpoint returning a small JSON, served under the same gunicorn settings.

Every benchmark figure is also given as a ratio to this app's throughput, measured in the same run
and interleaved with the target (bare, target, bare, …), so machine noise and drift cancel out.
"""

from flask import Flask, jsonify


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def index():
        return jsonify({"status": "ok", "service": "bare", "items": [1, 2, 3]})

    return app
