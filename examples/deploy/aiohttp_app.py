"""The aiohttp app factory (docs/deployment.md).

Several workers on one machine, either way:

- gunicorn's aiohttp worker (``pip install gunicorn``), settings in
  ``gunicorn.conf.py``::

      gunicorn -c examples/deploy/gunicorn.conf.py examples.deploy.aiohttp_app:app_factory

- or one process per worker on the same port (``SO_REUSEPORT``: the kernel
  spreads connections across them), started ``TBONE_WORKERS`` times by your
  process manager::

      python -m examples.deploy.aiohttp_app
"""

from __future__ import annotations

from aiohttp import web

from examples.deploy.settings import NoteResourceBase, Services, Settings, after_start
from tbone.dispatch import WebsocketMultiplexer
from tbone.resources import Router
from tbone.servers.aiohttp import DB_KEY, AioHttpResource, mount, mount_health, mount_websocket

__all__ = ["NoteResource", "app_factory", "create_app", "main"]


class NoteResource(AioHttpResource, NoteResourceBase):
    pass


SERVICES: web.AppKey[Services] = web.AppKey("services", Services)


def create_app(settings: Settings | None = None) -> web.Application:
    """The app: ``/api/notes/``, the websocket at ``/ws``, ``/healthz``."""
    settings = settings or Settings.from_env()
    services = Services(settings)
    app = web.Application()
    app[DB_KEY] = services.db
    app[SERVICES] = services
    router = Router(name="api")
    router.register(NoteResource, "notes")
    mount(app, router)
    multiplexer = WebsocketMultiplexer(app, channel=services.channel, feed=services.feed)
    multiplexer.add_router(router.name, router)
    # on SIGTERM: websockets closed with 1001 within shutdown_timeout seconds
    mount_websocket(app, multiplexer, shutdown_timeout=settings.shutdown_timeout)
    mount_health(app)  # GET /healthz: 200 when MongoDB answers a ping, else 503

    async def started(_: web.Application) -> None:
        after_start()

    async def close_services(_: web.Application) -> None:
        await services.close()

    app.on_startup.append(started)
    app.on_cleanup.append(close_services)  # after the websockets are closed
    return app


async def app_factory() -> web.Application:
    """For gunicorn's ``aiohttp.GunicornWebWorker``: one app per worker."""
    return create_app()


def main() -> None:
    """One worker process; start several with ``SO_REUSEPORT`` on one port."""
    settings = Settings.from_env()
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        reuse_port=True,
        shutdown_timeout=settings.shutdown_timeout + 2,
        access_log=None,
    )


if __name__ == "__main__":
    main()
