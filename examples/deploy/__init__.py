"""A production app factory for TBone, on aiohttp and on Sanic (docs/deployment.md).

- ``settings``: every setting from the environment, the models, the channel
  or feed that makes the workers' events meet;
- ``aiohttp_app``: the aiohttp app factory, for gunicorn's aiohttp worker or
  for several processes on one port (``SO_REUSEPORT``);
- ``sanic_app``: the Sanic app factory and Sanic's own workers;
- ``gunicorn.conf.py``: gunicorn's settings, from the same environment.
"""
