"""WSGI entry for production servers:  gunicorn 'server.wsgi:app'

Run `trimtab migrate` once before starting workers: workers do not migrate, so several of them
never race to change the schema.
"""
from .app import create_app
from .config import from_env

app = create_app(from_env(migrate=False))
