"""One exception tree for the whole project; every raise inside it is chained with ``from``."""

from __future__ import annotations


class ScooptraceError(Exception):
    """Base of every error scooptrace raises on purpose. ``exit_code`` is what the CLI exits with."""

    exit_code = 1


class UsageError(ScooptraceError):
    """Bad usage or an invalid input file (feeds list, import file): exit status 2."""

    exit_code = 2


class FeedsFileError(UsageError):
    """A feeds file (OPML or TOML) that cannot be used; the message names the file, line and problem."""

    def __init__(self, path: str, problem: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem


class DatabaseError(ScooptraceError):
    """The database cannot be opened or written: exit status 1."""


class LockBusyError(ScooptraceError):
    """Another writer (ingest, import, cluster) holds the database: exit status 75 (EX_TEMPFAIL)."""

    exit_code = 75


class FetchError(ScooptraceError):
    """One HTTP fetch failed; recorded against its feed or page, never fatal to a run. ``transient``: worth
    trying again later (a reset, a deadline); False for what the same request would meet again."""

    transient = True

    def __init__(
        self, url: str, reason: str, status: int | None = None, *, transient: bool | None = None
    ) -> None:
        super().__init__(f"{reason} ({url})")
        self.url = url
        self.reason = reason
        self.status = status
        if transient is not None:
            self.transient = transient


class ForbiddenAddressError(FetchError):
    """The host resolves to an address the network-safety rule forbids."""

    transient = False


class BodyTooLargeError(FetchError):
    """The decompressed body passed the configured cap."""

    transient = False


class DeadlineExceededError(FetchError):
    """The whole request (connect, headers and body) took longer than its deadline."""


class AllFeedsFailedError(ScooptraceError):
    """Every feed due in an ingest run failed (no network, DNS down): exit status 3, so cron notices."""

    exit_code = 3
