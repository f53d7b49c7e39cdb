"""Server adapters: one folder per web server, the only code that imports one.

``tbone.servers.aiohttp`` and ``tbone.servers.sanic`` have the same shape and
the same names (``mount``, ``mount_websocket``, ``<Server>Resource``, the
carrier), so that switching servers changes one import:

- ``handlers``: the HTTP adapter (neutral ``Request``/``Response`` ⇄ the
  server's) and ``mount``;
- ``endpoint``: the ready-made websocket endpoint, ``mount_websocket``;
- ``carrier``: the dispatch ``Carrier`` over the server's websocket.

This package imports neither server; import the subpackage you use.
"""

__all__: list[str] = []
