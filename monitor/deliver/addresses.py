"""Where a webhook may not post: link-local addresses and the cloud metadata services.

A config that can be edited by more people than the host's owner could point a webhook at
169.254.169.254 and have the monitor fetch the machine's cloud credentials for it. Loopback and
private ranges stay allowed (intranet receivers are normal); a target that truly means a
link-local receiver says ``allow_private: true``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from monitor.errors import DeliveryError

# Metadata services outside the link-local ranges (AWS over IPv6, Alibaba Cloud).
_METADATA = frozenset(ipaddress.ip_address(a) for a in ("fd00:ec2::254", "100.100.100.200"))

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def forbidden(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_link_local or address.is_unspecified or address in _METADATA


async def refuse_forbidden(host: str, port: int) -> None:
    """Raise a permanent DeliveryError when ``host`` is, or resolves to, a forbidden address.

    A name that does not resolve is left to the HTTP client, which reports it as it always has."""
    try:
        addresses: list[IPAddress] = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            return
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    bad = next((a for a in addresses if forbidden(a)), None)
    if bad is not None:
        raise DeliveryError(f"webhook host {host} is a link-local or cloud metadata address ({bad}): not posted",
                            retryable=False,
                            hint="point the webhook at its receiver, or set allow_private: true on the target "
                                 "if a link-local receiver is really meant")
