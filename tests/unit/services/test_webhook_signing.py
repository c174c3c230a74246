"""Standard Webhooks secrets and signatures, checked against the standardwebhooks package."""
from __future__ import annotations

import base64
import time
from datetime import datetime, timezone

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.services.webhooks import signing


def test_generated_secrets_have_the_standard_form():
    secrets = {signing.generate_secret() for _ in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret[len("whsec_"):])) == 32
    for n in (24, 64):
        assert len(signing.secret_key(signing.generate_secret(n))) == n
    with pytest.raises(ValueError):
        signing.generate_secret(16)


@pytest.mark.parametrize("secret", ["nope", "whsec_", "whsec_!!!!", "whsec_" + base64.b64encode(b"x" * 10).decode(),
                                    "whsec_" + base64.b64encode(b"x" * 65).decode()])
def test_malformed_secrets_are_refused(secret):
    with pytest.raises(ValueError):
        signing.secret_key(secret)


def test_signature_is_the_hmac_of_id_timestamp_body_and_verifies_with_the_library():
    secret = signing.generate_secret()
    body = b'{"id":"evt","type":"ticket.created","data":{"ticket":{"subject":"\\u00e9t\\u00e9"}}}'
    timestamp = int(time.time())
    headers = signing.signed_headers([secret], "evt_1", timestamp, body)
    assert headers["webhook-id"] == "evt_1" and headers["webhook-timestamp"] == str(timestamp)
    assert Webhook(secret).verify(body, headers)["type"] == "ticket.created"
    # The same value the reference implementation computes.
    reference = Webhook(secret).sign("evt_1", datetime.fromtimestamp(timestamp, tz=timezone.utc), body.decode())
    assert headers["webhook-signature"] == reference


def test_two_secrets_give_two_space_separated_signatures_each_verifying():
    old, new = signing.generate_secret(), signing.generate_secret()
    body, ts = b'{"a":1}', int(time.time())
    header = signing.signed_headers([new, old], "evt_2", ts, body)
    assert len(header["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(body, header)
    Webhook(old).verify(body, header)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.generate_secret()).verify(body, header)


def test_a_changed_body_id_or_timestamp_fails_verification():
    secret, ts = signing.generate_secret(), int(time.time())
    headers = signing.signed_headers([secret], "evt_3", ts, b'{"a":1}')
    for body, changes in ((b'{"a":2}', {}), (b'{"a":1}', {"webhook-id": "evt_4"}),
                          (b'{"a":1}', {"webhook-timestamp": str(ts - 1)})):
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(body, {**headers, **changes})
