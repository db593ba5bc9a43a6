"""The yardstick for the server benchmark: a bare Flask endpoint that only inserts the raw
body into the same database, under the same gunicorn settings."""
import os

from flask import Flask, request
from sqlalchemy import create_engine, text

from trimtab.server.config import _sqlalchemy_url

app = Flask(__name__)
engine = create_engine(_sqlalchemy_url(os.environ["DATABASE_URL"]))   # pooled, as trimtab
CREATE = "CREATE TABLE IF NOT EXISTS raw_bodies (id SERIAL PRIMARY KEY, body TEXT NOT NULL)"
# the benchmark creates the table before gunicorn starts: workers racing to create it fail


@app.post("/hooks/<form>")
def hook(form):
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO raw_bodies (body) VALUES (:b)"), {"b": request.get_data(as_text=True)})
    return {"ok": True}
