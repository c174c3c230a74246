"""Every task module, imported so the consumer registers them; installs the outbox dispatch hook.

notification, webhook and sla jobs arrive with their capabilities (issues 5, 7, 8).
"""
from app.repositories.unit_of_work import after_commit_hooks
from app.tasks import maintenance, ticket  # noqa: F401

if ticket.dispatch_committed not in after_commit_hooks:
    after_commit_hooks.append(ticket.dispatch_committed)
