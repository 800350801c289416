"""Fixtures of the webhook tests."""

import pytest

from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver():
    """A webhook receiver on 127.0.0.1 (``receiver.url``), stopped after the test."""
    r = Receiver()
    yield r
    r.stop()
