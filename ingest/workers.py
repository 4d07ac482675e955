"""Extraction worker processes that die with the ingest process and never hold its lock.

A worker forked from the main process would inherit the writer's lock descriptor (flock locks belong to the
open file, which a forked child shares) and outlive a main process killed alone (``kill -9``, the OOM killer,
``timeout``): every later run would then find the lock taken. So workers are started by multiprocessing's
fork server (a fresh interpreter that never had the lock open), and each worker asks the kernel for SIGKILL
when its parent goes away (Linux ``PR_SET_PDEATHSIG``), with a thread watching the main process as a fallback
for systems without prctl and for the short window before the signal is armed.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WATCH_INTERVAL_SECONDS = 0.5  # how often the fallback watch looks for the main process


def set_parent_death_signal() -> bool:
    """Ask Linux to SIGKILL this process when its parent dies; False where prctl is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with (
        contextlib.suppress(OSError),
        open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle,
    ):
        return handle.read().rsplit(")", 1)[-1].split()[0] != "Z"
    return True


def _watch_main(main_pid: int) -> None:
    while process_alive(main_pid):
        time.sleep(WATCH_INTERVAL_SECONDS)
    os._exit(1)


def init_worker(main_pid: int) -> None:
    """Pool initializer: die with the parent (the fork server, which exits with the main process) and,
    as a fallback, when the main process itself is gone."""
    set_parent_death_signal()
    if not process_alive(main_pid):
        os._exit(1)
    threading.Thread(target=_watch_main, args=(main_pid,), name="watch-main", daemon=True).start()


def extraction_pool(workers: int) -> ProcessPoolExecutor:
    """A pool whose workers hold no descriptor of ours and die with this process."""
    context = multiprocessing.get_context("forkserver")
    # The fork server imports the extractor once; every worker it forks starts with it loaded.
    context.set_forkserver_preload(["ingest.extract", "trafilatura", "py3langid"])
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=init_worker, initargs=(os.getpid(),)
    )
