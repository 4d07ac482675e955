"""The stories stage: clustering, first reports, citations and signals.

The clustering core runs compiled when ``make install`` could compile it and the sources are unchanged since
(see ``cluster.native``); importing the package puts that choice in place before any core module loads."""

from cluster import native

native.install()
