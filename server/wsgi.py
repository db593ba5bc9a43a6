"""WSGI entry for production servers:  gunicorn 'trimtab.server.wsgi:app'

Run `trimtab migrate` once before starting workers: workers do not migrate, so several of them
never race to change the schema.
"""
from trimtab.server.app import create_app, settle_heap
from trimtab.server.config import ConfigError, from_env

try:
    config = from_env(migrate=False)
except ConfigError as err:      # a setting it cannot start with: one line in the log, named
    raise SystemExit(f"trimtab: {err}") from None
app = create_app(config)
settle_heap()
