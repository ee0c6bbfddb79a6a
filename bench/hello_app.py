"""The ceiling for ``bench/logins.py``: the smallest Flask app, served by the same gunicorn settings."""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "hello"
