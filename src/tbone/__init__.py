"""TBone: full-duplex RESTful APIs on asyncio.

Subpackages: ``tbone.data`` (typed ODM), ``tbone.db`` (MongoDB persistence),
``tbone.dispatch`` (signals, channels, carriers, the websocket multiplexer),
``tbone.resources`` (server-independent resources; ``tbone.resources.mongo``
for MongoDB), ``tbone.servers`` (the aiohttp and Sanic adapters),
``tbone.testing`` (pytest plugin and test clients). docs/architecture.md
draws the layers.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
