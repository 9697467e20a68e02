"""The client's address, behind as many trusted reverse proxies as TRUSTED_PROXY_COUNT says."""

from __future__ import annotations

import ipaddress

from django.conf import settings


def client_ip(request) -> str | None:
    """REMOTE_ADDR, or with N trusted proxies the N-th address from the right of X-Forwarded-For.

    Only addresses appended by our own proxies are trusted; anything further left is what the client claims.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    address = request.META.get("REMOTE_ADDR", "")
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            address = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None
