"""TBone: full-duplex RESTful APIs on asyncio.

Subpackages: ``tbone.data`` (typed ODM), ``tbone.db`` (MongoDB persistence),
``tbone.dispatch`` (signals, channels, carriers), ``tbone.resources`` (HTTP and
WebSocket resources), ``tbone.testing`` (pytest plugin and test clients).
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
