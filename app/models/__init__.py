"""All tables, imported here so Alembic and the app see the whole schema."""
from app.models.audit import AuditLog
from app.models.jobs import DailyTicketStats, JobExecution, PeriodicRun, ProcessedEvent
from app.models.notifications import EmailMessage, Notification, NotificationPreference, TicketFollower
from app.models.outbox import OutboxEvent
from app.models.search import SearchComment, SearchTicket
from app.models.security import LoginAttempt, UserSession
from app.models.tenancy import ROLES, ApiToken, Tenant, User
from app.models.tickets import PRIORITIES, STATUSES, Comment, Ticket, TicketActivity, TicketTag
from app.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.models.macros import Macro
from app.models.presence import TicketPresence
from app.models.sla import BusinessCalendar, BusinessHours, Holiday, SlaEvent, SlaPolicy, SlaTarget
from app.models.views import SavedView

__all__ = [
    "ROLES", "STATUSES", "PRIORITIES",
    "Tenant", "User", "ApiToken",
    "Ticket", "TicketTag", "Comment", "TicketActivity",
    "OutboxEvent", "AuditLog",
    "UserSession", "LoginAttempt",
    "JobExecution", "PeriodicRun", "ProcessedEvent", "DailyTicketStats",
    "BusinessCalendar", "BusinessHours", "Holiday", "SlaPolicy", "SlaTarget", "SlaEvent", "Notification",
    "NotificationPreference", "TicketFollower", "EmailMessage",
    "WebhookEndpoint", "WebhookDelivery", "WebhookAttempt",
    "SearchTicket", "SearchComment",
    "SavedView", "Macro", "TicketPresence",
]
