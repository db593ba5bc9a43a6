"""gunicorn settings for the bare endpoint (bare_app.py) when the server benchmark runs trimtab
as shipped: the same worker class, threads and heartbeat directory as trimtab's settings
module, none of its hooks (access log, metrics, the GIL's switch interval), which are
trimtab's own work."""
from trimtab.server.gunicorn_conf import threads, worker_class  # noqa: F401  (gunicorn reads them)
from trimtab.server import gunicorn_conf as _shipped

worker_tmp_dir = getattr(_shipped, "worker_tmp_dir", None)
