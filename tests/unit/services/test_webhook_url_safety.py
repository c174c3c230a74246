"""Where webhooks may go: public http(s) addresses, unless WEBHOOK_ALLOWED_HOSTS names them."""
from __future__ import annotations

import pytest

from app.services.webhooks import url_safety
from app.services.webhooks.url_safety import UnsafeUrl, check_url, connect_target, forbidden_reason


@pytest.mark.parametrize("address,label", [
    ("127.0.0.1", "loopback"), ("127.255.255.254", "loopback"), ("::1", "loopback"),
    ("10.0.0.1", "private"), ("10.255.255.255", "private"),
    ("172.16.0.1", "private"), ("172.31.255.255", "private"),
    ("192.168.0.1", "private"), ("192.168.255.255", "private"),
    ("169.254.0.1", "link-local or metadata"), ("169.254.169.254", "link-local or metadata"),
    ("fc00::1", "private"), ("fd00:ec2::254", "private"),
    ("fe80::1", "link-local"), ("febf::1", "link-local"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("100.100.100.200", "shared (carrier-grade NAT)"),
    ("224.0.0.1", "multicast"), ("168.63.129.16", "metadata"),
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:169.254.169.254", "link-local or metadata"),
    ("64:ff9b::a00:1", "private"), ("2002:a00:1::", "private"),
])
def test_forbidden_ranges(address, label):
    assert forbidden_reason(address) == label


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "172.32.0.1", "172.15.255.255", "192.169.0.1",
                                     "11.0.0.1", "2606:4700::1111", "2001:db8::1"])
def test_public_addresses_are_allowed(address):
    assert forbidden_reason(address) is None


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/hook", "http://127.1.2.3:8080/x", "http://[::1]/hook", "http://10.1.2.3/",
    "https://172.16.5.4/", "http://192.168.1.10/", "http://169.254.169.254/latest/meta-data/",
    "http://[fd12:3456::1]/", "http://[fe80::1]/", "http://[::ffff:10.0.0.1]/", "http://0.0.0.0:5000/",
])
def test_urls_of_forbidden_addresses_are_refused_when_saved(url):
    with pytest.raises(UnsafeUrl, match="Webhooks cannot be sent to"):
        check_url(url, "")


def test_a_name_resolving_to_loopback_is_refused_without_the_allowlist():
    with pytest.raises(UnsafeUrl, match=r"localhost \((127\.0\.0\.1|::1)\): a loopback address"):
        check_url("http://localhost:8000/hook", "")


def test_a_name_is_refused_if_any_of_its_addresses_is_forbidden(monkeypatch):
    monkeypatch.setattr(url_safety, "resolve", lambda host, port: ["93.184.216.34", "10.0.0.5"])
    with pytest.raises(UnsafeUrl, match=r"mixed.example \(10\.0\.0\.5\): a private address"):
        check_url("https://mixed.example/hook", "")


@pytest.mark.parametrize("url,message", [
    ("ftp://93.184.216.34/x", "http:// or https://"), ("javascript:alert(1)", "http:// or https://"),
    ("file:///etc/passwd", "http:// or https://"), ("http://", "host name"), ("", "Enter the URL"),
    ("http://user:pw@93.184.216.34/", "Credentials"), ("http://93.184.216.34:99999/", "port"),
    ("http://93.184.216.34/a b", "spaces"), ("https://93.184.216.34/" + "a" * 2050, "2048"),
])
def test_malformed_urls_are_refused(url, message):
    with pytest.raises(UnsafeUrl, match=message):
        check_url(url, "")


def test_a_name_that_does_not_resolve_is_refused_when_saved(monkeypatch):
    def fail(host, port):
        raise url_safety.HostUnresolvable("nope")

    monkeypatch.setattr(url_safety, "resolve", fail)
    with pytest.raises(UnsafeUrl, match="does not resolve"):
        check_url("https://nowhere.invalid/hook", "")


def test_the_allowlist_lifts_the_rule_for_what_it_names(monkeypatch):
    assert check_url("http://127.0.0.1:5000/hook", "127.0.0.1") == "http://127.0.0.1:5000/hook"
    assert check_url("http://10.1.2.3/hook", "10.0.0.0/8, 192.168.0.0/16") == "http://10.1.2.3/hook"
    with pytest.raises(UnsafeUrl):
        check_url("http://10.1.2.3/hook", "192.168.0.0/16")
    monkeypatch.setattr(url_safety, "resolve", lambda host, port: ["10.9.9.9"])
    assert check_url("https://hooks.internal/x", "hooks.internal") == "https://hooks.internal/x"
    with pytest.raises(UnsafeUrl):
        check_url("https://other.internal/x", "hooks.internal")


def test_connect_target_pins_the_checked_address(monkeypatch):
    calls = []
    monkeypatch.setattr(url_safety, "resolve", lambda host, port: calls.append((host, port)) or ["93.184.216.34"])
    target = connect_target("https://hooks.example.com/in?x=1", "")
    assert calls == [("hooks.example.com", 443)]
    assert (target.scheme, target.host, target.port, target.path, target.address) == (
        "https", "hooks.example.com", 443, "/in?x=1", "93.184.216.34")
    monkeypatch.setattr(url_safety, "resolve", lambda host, port: ["127.0.0.1"])
    with pytest.raises(UnsafeUrl):
        connect_target("https://hooks.example.com/in", "")
