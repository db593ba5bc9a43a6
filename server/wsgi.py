"""WSGI entry for production servers:  gunicorn 'trimtab.server.wsgi:app'

Run `trimtab migrate` once before starting workers: workers do not migrate, so several of them
never race to change the schema.
"""
from trimtab.server.app import create_app, settle_heap
from trimtab.server.config import from_env

app = create_app(from_env(migrate=False))
settle_heap()
