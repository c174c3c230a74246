"""All tables, imported here so Alembic and the app see the whole schema."""
from app.models.audit import AuditLog
from app.models.jobs import DailyTicketStats, JobExecution, PeriodicRun, ProcessedEvent
from app.models.outbox import OutboxEvent
from app.models.tenancy import ROLES, ApiToken, Tenant, User
from app.models.tickets import PRIORITIES, STATUSES, Comment, Ticket, TicketActivity, TicketTag

__all__ = [
    "ROLES", "STATUSES", "PRIORITIES",
    "Tenant", "User", "ApiToken",
    "Ticket", "TicketTag", "Comment", "TicketActivity",
    "OutboxEvent", "AuditLog",
    "JobExecution", "PeriodicRun", "ProcessedEvent", "DailyTicketStats",
]
