"""Webhooks: endpoints per tenant, signed deliveries with retries, a dead-letter queue.

- endpoints.py   admins create, change, delete endpoints and rotate their secrets
- url_safety.py  where webhooks may go (public http(s) addresses, checked at save and at connect)
- signing.py     Standard Webhooks secrets and signatures
- transport.py   one HTTP attempt to a checked address, redirects not followed
- envelope.py    the versioned JSON body
- deliveries.py  the outbox handler that creates deliveries; manual retry, test events, the log
- attempts.py    claim, send, record an attempt; retries, dead letters, disabling; the sweeper
- metrics.py     success rates and latency for the console and the metrics endpoint
- settings.py    WEBHOOK_* configuration

The event handler lives in deliveries.py; app/tasks/webhook.py imports it at app start.
"""
