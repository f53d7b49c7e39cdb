"""Test support for TBone apps: database fixtures (the ``tbone`` pytest plugin)."""

from tbone.testing.mongo import DRIVERS, embedded_mongo, is_secantus, make_client

__all__ = ["DRIVERS", "embedded_mongo", "is_secantus", "make_client"]
