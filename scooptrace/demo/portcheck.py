"""Is a TCP port free to serve the app on? Standard library only, so ``make demo`` can ask before it installs
or builds anything: ``python3 scooptrace/demo/portcheck.py PORT`` exits 0 when free, 2 with a message when not.
"""

from __future__ import annotations

import socket
import sys


def port_is_free(port: int) -> bool:
    """True when nothing listens on ``port``: bind it on all interfaces as the app's server would
    (SO_REUSEADDR, so a port left in TIME_WAIT by a stopped server counts as free)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("", port))
        except OSError:
            return False
    return True


def busy_port_message(port: int) -> str:
    """What to say when ``port`` is taken, with the way out."""
    other = 8600 if port != 8600 else 8700
    return (
        f"port {port} is already in use (another scooptrace app or demo still running?); nothing was built. "
        f"Stop that server, or pick another port: make demo PORT={other} (or scooptrace demo --port {other})"
    )


def main(argv: list[str]) -> int:
    try:
        port = int(argv[1])
    except (IndexError, ValueError):
        print(f"usage: {argv[0]} PORT", file=sys.stderr)
        return 2
    if port_is_free(port):
        return 0
    print(f"scooptrace: error: {busy_port_message(port)}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
