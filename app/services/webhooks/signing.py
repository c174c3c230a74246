"""Standard Webhooks signatures (https://www.standardwebhooks.com).

A secret is ``whsec_`` followed by the base64 of 24 to 64 random bytes; the HMAC
key is the decoded bytes. Each message carries three headers:

    webhook-id:        the event id, the same on every retry (the receiver's idempotency key)
    webhook-timestamp: Unix seconds of this attempt
    webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">

While a rotated secret overlaps, the header lists one signature per secret,
separated by spaces, and a receiver holding either secret verifies the message.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
MIN_BYTES, MAX_BYTES, DEFAULT_BYTES = 24, 64, 32


def generate_secret(nbytes: int = DEFAULT_BYTES) -> str:
    if not MIN_BYTES <= nbytes <= MAX_BYTES:
        raise ValueError(f"a secret has {MIN_BYTES} to {MAX_BYTES} bytes")
    return PREFIX + base64.b64encode(secrets.token_bytes(nbytes)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret; ValueError for anything else."""
    if not isinstance(secret, str) or not secret.startswith(PREFIX):
        raise ValueError("a signing secret starts with whsec_")
    try:
        key = base64.b64decode(secret[len(PREFIX):], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a signing secret is base64 after whsec_") from exc
    if not MIN_BYTES <= len(key) <= MAX_BYTES:
        raise ValueError(f"a signing secret holds {MIN_BYTES} to {MAX_BYTES} bytes")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of ``id.timestamp.body``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature value: one signature per secret, space-separated."""
    return " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets_)


def signed_headers(secrets_: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets_, msg_id, timestamp, body),
    }
