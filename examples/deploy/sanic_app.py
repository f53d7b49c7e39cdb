"""The Sanic app factory, served by Sanic's own workers (docs/deployment.md)::

    python -m examples.deploy.sanic_app

or with Sanic's command line::

    sanic examples.deploy.sanic_app:create_app --factory --host 127.0.0.1 --port 8000 --workers 2
"""

from __future__ import annotations

from typing import Any

from sanic import Sanic
from sanic.worker.loader import AppLoader

from examples.deploy.settings import NoteResourceBase, Services, Settings, after_start
from tbone.dispatch import WebsocketMultiplexer
from tbone.resources import Router
from tbone.servers.sanic import SanicResource, mount, mount_health, mount_websocket

__all__ = ["NoteResource", "create_app", "main"]


class NoteResource(SanicResource, NoteResourceBase):
    pass


def create_app(settings: Settings | None = None) -> Sanic[Any, Any]:
    """The app: ``/api/notes/``, the websocket at ``/ws``, ``/healthz``.

    Sanic calls this in its main process and in every worker. Making the
    database client, channel and feed does no I/O: they connect in the worker
    that uses them."""
    settings = settings or Settings.from_env()
    services = Services(settings)
    app: Sanic[Any, Any] = Sanic("tbone_deploy")
    app.ctx.db = services.db
    app.ctx.services = services
    router = Router(name="api")
    router.register(NoteResource, "notes")
    mount(app, router)
    multiplexer = WebsocketMultiplexer(app, channel=services.channel, feed=services.feed)
    multiplexer.add_router(router.name, router)
    # on SIGTERM: websockets closed with 1001 within shutdown_timeout seconds
    mount_websocket(app, multiplexer, shutdown_timeout=settings.shutdown_timeout)
    mount_health(app)  # GET /healthz: 200 when MongoDB answers a ping, else 503

    @app.after_server_start
    async def started(app: Sanic[Any, Any]) -> None:
        after_start()

    @app.after_server_stop
    async def close_services(app: Sanic[Any, Any]) -> None:
        await services.close()  # after the websockets are closed

    return app


def main() -> None:
    settings = Settings.from_env()
    loader = AppLoader(factory=create_app)
    app = loader.load()
    app.prepare(
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        access_log=False,
        motd=False,
    )
    Sanic.serve(primary=app, app_loader=loader)


if __name__ == "__main__":
    main()
