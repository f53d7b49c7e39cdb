"""gunicorn's settings for the aiohttp app, from the environment (docs/deployment.md)::

gunicorn -c examples/deploy/gunicorn.conf.py examples.deploy.aiohttp_app:app_factory
"""

import os

bind = f"{os.environ.get('TBONE_HOST') or '127.0.0.1'}:{os.environ.get('TBONE_PORT') or 8000}"
workers = int(os.environ.get("TBONE_WORKERS") or 2)
worker_class = "aiohttp.GunicornWebWorker"
# SIGTERM: each worker closes its websockets (1001) within TBONE_SHUTDOWN_TIMEOUT
# seconds; gunicorn kills a worker still running after graceful_timeout.
graceful_timeout = int(float(os.environ.get("TBONE_SHUTDOWN_TIMEOUT") or 3)) + 5
# a worker silent for this long is killed and replaced
timeout = 30
# let a worker whose database is unreachable start anyway: /healthz says 503
preload_app = False
# gunicorn >= 24 opens a control socket (gunicornc) in ~/.gunicorn; not needed here
control_socket_disable = True
