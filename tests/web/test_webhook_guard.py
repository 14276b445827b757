"""The webhook SSRF guard (``monitoring.webhook_http.resolve``): every address a URL's host
resolves to is checked; addresses that are not public are refused unless an allowed network
covers them, and the cloud metadata addresses always. (No database: the delivery tests in
test_webhooks.py check that a refused URL is never called.)"""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("url", ["http://127.0.0.1/", "http://10.1.2.3/", "http://169.254.169.254/latest/meta-data/",
                                 "http://[::1]/", "http://[fd00::1]/", "http://localhost/", "http://192.168.0.1/",
                                 "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://224.0.0.1/",
                                 "ftp://example.com/", "http://user:pw@example.com/"])
def test_ssrf_guard_refuses_addresses_that_are_not_public(url):
    from monitoring.webhook_http import UnsafeURL, resolve

    with pytest.raises(UnsafeURL):
        resolve(url, [])


def test_allowed_networks_let_a_loopback_receiver_through_but_never_the_metadata_address():
    from monitoring.webhook_http import UnsafeURL, resolve

    target = resolve("http://localhost:8123/x?y=1", ["127.0.0.0/8", "::1/128"])
    assert target.host == "localhost" and target.port == 8123 and target.path == "/x?y=1"
    assert target.address in ("127.0.0.1", "::1")
    with pytest.raises(UnsafeURL, match="metadata"):
        resolve("http://169.254.169.254/", ["169.254.0.0/16"])
    with pytest.raises(UnsafeURL):
        resolve("http://10.0.0.1/", ["127.0.0.0/8"])
