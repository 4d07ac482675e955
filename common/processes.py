"""Signals for the processes scooptrace starts (pure setup, stdlib only)."""

from __future__ import annotations

import signal


def quiet_worker() -> None:
    """Initializer of a worker process: Ctrl-C and SIGTERM are the parent's business. The parent stops its
    pool on either; a worker that also raised KeyboardInterrupt would print a traceback per process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
