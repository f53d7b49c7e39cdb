"""Signals, channels and carriers: how events travel inside and across processes.

This package imports neither ``tbone.db`` nor ``tbone.resources``.
"""

from tbone.dispatch.signals import Receiver, Signal

__all__ = ["Receiver", "Signal"]
