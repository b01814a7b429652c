"""Who is staff: a request from an address in ``PKPI_STAFF_NETWORKS``.

The drop folder's inner workings (where the inbox is, the names of the files waiting in it
or refused, what a refused file held, the process reading it) are for the staff who drop
files, not for every visitor: a file's name can say more than its values ("draft - not
cleared.xlsx"), and a refused file's cells are not published data. The Updates page and its
routes ask ``request_is_staff()``; everyone else sees counts and the accepted values with
their citations, which are public anyway.

The address is the connection's. A request that says it was forwarded (``X-Forwarded-For``,
``Forwarded``, ``X-Real-IP``) is believed only when it comes from a proxy listed in
``PKPI_TRUSTED_PROXIES``; then the client is the last forwarded address that is not itself
such a proxy. A forwarded request from any other address is not staff: behind a proxy the
dashboard sees the proxy's address (often 127.0.0.1), and cannot tell who is behind it.
Outside a request (a test, the command line) nobody is staff either: the caller says so.
"""
from __future__ import annotations

import ipaddress

from data import settings

_FORWARDED = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


def networks(name: str) -> list:
    """The address ranges of a setting (comma- or space-separated, a bare address is one
    host); a mistake in it is an error naming the setting (``check_settings`` reads both when
    the server starts)."""
    out = []
    for part in settings.get(name).replace(",", " ").split():
        try:
            out.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"setting {name}: {part!r} is not an address or an address range "
                             f"(write 10.0.0.0/8 or 192.168.1.20)") from None
    return out


def check_settings() -> None:
    """Read both address settings once, so that a mistake in either stops the server before
    it starts (``app.create_app``), naming the setting, instead of failing the Updates page
    at its first request."""
    networks("PKPI_STAFF_NETWORKS")
    networks("PKPI_TRUSTED_PROXIES")


def _address(text: str | None):
    if not text:
        return None
    text = text.strip().strip('"')
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # 10.0.0.1:443
        text = text.split(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _in(address, ranges) -> bool:
    if address is None:
        return False
    if getattr(address, "ipv4_mapped", None):
        address = address.ipv4_mapped
    return any(address.version == n.version and address in n for n in ranges)


def _forwarded_for(headers) -> list[str]:
    """Every address the forwarding headers give, nearest proxy last."""
    found = []
    for value in headers.getlist("X-Forwarded-For"):
        found += [p for p in (value or "").split(",") if p.strip()]
    for value in headers.getlist("Forwarded"):
        for element in (value or "").split(","):
            for pair in element.split(";"):
                key, _, val = pair.strip().partition("=")
                if key.lower() == "for":
                    found.append(val)
    if headers.get("X-Real-IP"):
        found.append(headers.get("X-Real-IP"))
    return found


def client(remote_addr: str | None, headers) -> object | None:
    """The client's address as far as it can be known, or None when it cannot."""
    peer = _address(remote_addr)
    if not any(headers.get(h) for h in _FORWARDED):
        return peer
    proxies = networks("PKPI_TRUSTED_PROXIES")
    if not _in(peer, proxies):
        return None  # forwarded by someone not trusted to say who is behind it
    for text in reversed(_forwarded_for(headers)):
        address = _address(text)
        if address is None:
            return None
        if not _in(address, proxies):
            return address
    return None


def is_staff(remote_addr: str | None, headers) -> bool:
    return _in(client(remote_addr, headers), networks("PKPI_STAFF_NETWORKS"))


def request_is_staff() -> bool:
    """Whether the current request comes from staff (False outside a request)."""
    from flask import has_request_context, request
    if not has_request_context():
        return False
    return is_staff(request.remote_addr, request.headers)
