"""Which webhook URLs the platform may call: the host resolved once, internal addresses refused (SSRF) unless the
administrator allow-listed them (WEBHOOK_ALLOWED_HOSTS), and the addresses that passed kept for the connection.

Checked when a subscription is saved and again before every delivery; the delivery connects to the addresses this
check returned, so a DNS answer that changes in between (DNS rebinding) cannot turn the request inward.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Why a URL is not called; these phrases are also what the delivery log shows (alerts.webhooks.ERRORS).
ADDRESS_NOT_ALLOWED = "address not allowed"
HOST_NOT_FOUND = "host not found"
INVALID_URL = "invalid URL"

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOCALHOST = re.compile(r"^(?:.+\.)?localhost\.?$", re.IGNORECASE)


class TargetRefused(Exception):
    """A URL the platform will not call; `reason` is one of the phrases above."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as the URL names it (the Host header and the TLS server name)
    port: int
    path: str  # path and query: what the request line carries
    addresses: tuple[str, ...]  # checked, in the resolver's order: the only ones to connect to


def resolve(host: str, port: int) -> list[str]:
    """The addresses of a host name (or numeric host such as `127.1`) from the system's resolver; OSError if none."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries to a gateway or stack that unwraps it (mapped, 6to4, Teredo, NAT64)."""
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_internal(ip: IPAddress) -> bool:
    """Loopback, private, link-local, shared (carrier NAT), multicast, reserved or unspecified: not the Internet."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if ip.ipv4_mapped:  # the socket talks IPv4 to it: judge that address alone
            return is_internal(embedded)
        if embedded is not None and is_internal(embedded):
            return True
        if ip.is_site_local:
            return True
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


@dataclass(frozen=True)
class AllowList:
    """Hosts of a closed network the administrator lets webhooks reach: names (`.example` for a domain and its
    subdomains, as in ALLOWED_HOSTS) and networks (CIDR, or one address)."""

    names: frozenset[str]
    domains: tuple[str, ...]
    networks: tuple[IPNetwork, ...]

    @classmethod
    def parse(cls, entries) -> AllowList:
        if isinstance(entries, str):
            entries = entries.split(",")
        names, domains, networks = set(), [], []
        for entry in entries or ():
            entry = entry.strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            if entry.startswith("."):
                domains.append(entry)
            else:
                names.add(entry)
        return cls(frozenset(names), tuple(domains), tuple(networks))

    def has_name(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return host in self.names or any(host == d[1:] or host.endswith(d) for d in self.domains)

    def has_address(self, ip: IPAddress) -> bool:
        candidates = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            candidates.append(ip.ipv4_mapped)
        return any(c in network for c in candidates for network in self.networks if c.version == network.version)


def allow_list() -> AllowList:
    return AllowList.parse(getattr(settings, "WEBHOOK_ALLOWED_HOSTS", ()))


def _addresses(host: str, port: int) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]  # a literal address: nothing to resolve
    except ValueError:
        pass
    if _LOCALHOST.match(host):  # loopback by definition (RFC 6761), whatever a resolver says or fails to say
        return ["127.0.0.1", "::1"]
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as error:
        raise TargetRefused(HOST_NOT_FOUND) from error
    if not addresses:
        raise TargetRefused(HOST_NOT_FOUND)
    return addresses


def target_vet(url: str) -> Target:
    """The URL's host resolved and every address checked; raises TargetRefused if any is not allowed."""
    try:
        parts = urlsplit(url)
        scheme, host, port = parts.scheme.lower(), parts.hostname, parts.port
    except ValueError as error:  # a port out of range, a malformed IPv6 literal
        raise TargetRefused(INVALID_URL) from error
    if scheme not in {"http", "https"} or not host:
        raise TargetRefused(INVALID_URL)
    port = port or (443 if scheme == "https" else 80)
    addresses = _addresses(host, port)

    allowed = allow_list()
    named = allowed.has_name(host)
    for address in addresses:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError as error:
            raise TargetRefused(ADDRESS_NOT_ALLOWED) from error
        # One internal answer is enough to refuse: the connection could be made to any of them.
        if not (named or allowed.has_address(ip) or not is_internal(ip)):
            raise TargetRefused(ADDRESS_NOT_ALLOWED)
    path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
    return Target(scheme=scheme, host=host, port=port, path=path, addresses=tuple(addresses))
