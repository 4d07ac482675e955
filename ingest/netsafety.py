"""Network safety: no request goes to a loopback, private, link-local, multicast or reserved address
unless its host, address or block was admitted with ``--allow-host``. Checked on every redirect hop."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

from common.errors import FetchError, ForbiddenAddressError, UsageError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def is_forbidden_address(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


@dataclass(frozen=True)
class HostPolicy:
    allowed_names: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_allow_list(cls, entries: tuple[str, ...] | list[str]) -> HostPolicy:
        names: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in entries:
            value = entry.strip().lower()
            if not value:
                raise UsageError("--allow-host needs a host name, IP address or CIDR block")
            try:
                networks.append(ipaddress.ip_network(value.strip("[]"), strict=False))
            except ValueError:
                if "/" in value or " " in value:
                    raise UsageError(
                        f"--allow-host {entry!r} is neither a host name nor a CIDR block"
                    ) from None
                names.add(value.rstrip("."))
        return cls(frozenset(names), tuple(networks))

    def admits_address(self, address: IPAddress) -> bool:
        if not is_forbidden_address(address):
            return True
        return any(address in network for network in self.allowed_networks)

    async def check(self, host: str, port: int) -> None:
        """Raise ForbiddenAddressError unless every address ``host`` resolves to is admitted."""
        name = host.lower().rstrip(".").strip("[]")
        if name in self.allowed_names:
            return
        for address in await resolve(name, port):
            if not self.admits_address(address):
                raise ForbiddenAddressError(
                    f"//{host}",
                    f"{host} resolves to {address}, a non-public address (admit it with --allow-host)",
                )


async def resolve(name: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(name)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"//{name}", f"cannot resolve {name}: {exc.strerror}") from exc
    addresses = []
    for info in infos:
        raw = str(info[4][0]).split("%")[0]
        addresses.append(ipaddress.ip_address(raw))
    return addresses
