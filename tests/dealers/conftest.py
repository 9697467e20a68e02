"""The trade-in counter (`counter`) for the dealer tests."""

import pytest

from tests.dealers.trade_in_world import Counter, counter_for


@pytest.fixture
def counter(chain) -> Counter:
    return counter_for(chain)
