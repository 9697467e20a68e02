"""Rate limits per client address: every throttle of the project counts by `core.client_ip`, never by what a client
writes into X-Forwarded-For."""

from __future__ import annotations

import logging
import re

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from core.client_ip import client_ip

log = logging.getLogger(__name__)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class ClientRateThrottle(SimpleRateThrottle):
    """A rate per client address, read from DEFAULT_THROTTLE_RATES[scope] or this class's default.

    DRF's own `get_ident` trusts X-Forwarded-For unless NUM_PROXIES is set, so each forged value would get a fresh
    allowance; here the address is the one `client_ip` finds behind TRUSTED_PROXY_COUNT proxies.
    Rates may name a multiple of the unit: "5/10m" is five per ten minutes. The rate is read when the throttle is
    made, not at import, so settings overrides apply. A cache that cannot be reached lets the request through:
    refusing everyone because Redis is down would be worse than a burst.
    """

    default_rate = "30/min"

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope) or self.default_rate

    def parse_rate(self, rate):
        num, period = rate.split("/")
        match = re.fullmatch(r"(\d*)\s*([smhd])\w*", period.strip())
        return int(num), int(match[1] or 1) * _UNITS[match[2]]

    def get_ident(self, request):
        return client_ip(request) or "unknown"

    def get_cache_key(self, request, view):
        return f"throttle:{self.scope}:{self.get_ident(request)}"

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:  # the cache is down
            log.warning("rate limit %s not applied: cache unavailable", self.scope, exc_info=True)
            return True


class LoginRateThrottle(ClientRateThrottle):
    """Password guesses per client address (DEFAULT_THROTTLE_RATES["login"]); the per-account lock-out is
    core.login's."""

    scope = "login"
    default_rate = "20/min"
