"""Every task module, imported so the consumer registers them; installs the outbox dispatch hook.

notification, webhook and sla jobs arrive with their capabilities (issues 5, 7, 8).
"""
from app.repositories.unit_of_work import after_commit_hooks, job_dispatcher
from app.tasks import maintenance, search, ticket  # noqa: F401
from app.tasks import webhook  # noqa: F401  (webhook.deliver, webhook.sweep_deliveries; the outbox handler)
from app.tasks import sla  # noqa: F401  (sla.sweep_breaches, sla.recompute_open_tickets)
from app.tasks import notification  # noqa: F401  (notification.send_email, .sweep_emails; the outbox handler)
from app.tasks.base import dispatch_by_name

if ticket.dispatch_committed not in after_commit_hooks:
    after_commit_hooks.append(ticket.dispatch_committed)
if dispatch_by_name not in job_dispatcher:
    job_dispatcher.append(dispatch_by_name)
