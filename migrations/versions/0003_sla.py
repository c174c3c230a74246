"""SLA policies, business calendars, SLA history, notifications and the ticket's SLA columns

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 19:30:00

Existing tenants get the default calendar (Mon-Fri 09:00-17:00 in their time
zone) and the default 'Standard' policy, as new tenants do; their tickets get
deadlines at their next change.
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)

# (priority rank, first response, next reply, resolution) in minutes: app.services.sla.policies.DEFAULT_TARGETS
DEFAULT_TARGETS = ((0, 960, 1920, 4800), (1, 480, 960, 2400), (2, 240, 480, 1440), (3, 60, 120, 480))

TICKET_COLUMNS = (
    ("sla_policy_id", sa.Integer(), True, None),
    ("sla_state", sa.String(length=16), False, "none"),
    ("sla_due_at", TS, True, None),
    ("first_response_due_at", TS, True, None),
    ("first_response_at", TS, True, None),
    ("first_response_met", sa.Boolean(), True, None),
    ("first_response_minutes", sa.Integer(), True, None),
    ("awaiting_reply_since", TS, True, None),
    ("reply_due_at", TS, True, None),
    ("resolution_due_at", TS, True, None),
    ("resolved_at", TS, True, None),
    ("resolution_met", sa.Boolean(), True, None),
    ("resolution_minutes", sa.Integer(), True, None),
    ("sla_paused_at", TS, True, None),
    ("sla_paused_minutes", sa.Integer(), False, "0"),
    ("reply_warned", sa.Boolean(), False, sa.false()),
    ("reply_breached", sa.Boolean(), False, sa.false()),
    ("resolution_warned", sa.Boolean(), False, sa.false()),
    ("resolution_breached", sa.Boolean(), False, sa.false()),
    ("reply_warn_at", TS, True, None),
    ("reply_breach_at", TS, True, None),
    ("resolution_warn_at", TS, True, None),
    ("resolution_breach_at", TS, True, None),
)
TICKET_INDEXES = (
    ("ix_tickets_tenant_sla_due", ["tenant_id", "sla_due_at", "id"]),
    ("ix_tickets_tenant_sla_state", ["tenant_id", "sla_state", "sla_due_at"]),
    ("ix_tickets_tenant_reply_warn", ["tenant_id", "reply_warn_at"]),
    ("ix_tickets_tenant_reply_breach", ["tenant_id", "reply_breach_at"]),
    ("ix_tickets_tenant_resolution_warn", ["tenant_id", "resolution_warn_at"]),
    ("ix_tickets_tenant_resolution_breach", ["tenant_id", "resolution_breach_at"]),
    ("ix_tickets_tenant_first_response", ["tenant_id", "first_response_at"]),
    ("ix_tickets_tenant_resolved", ["tenant_id", "resolved_at"]),
)


def _tenant_fk(table: str):
    return sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"))


def upgrade():
    op.create_table(
        "business_calendars",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        _tenant_fk("business_calendars"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_calendars")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_business_calendars_tenant_id")),
    )
    op.create_table(
        "business_hours",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("start_minute", sa.SmallInteger(), nullable=False),
        sa.Column("end_minute", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(["calendar_id"], ["business_calendars.id"], ondelete="CASCADE",
                                name=op.f("fk_business_hours_calendar_id_business_calendars")),
        _tenant_fk("business_hours"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_hours")),
    )
    op.create_index("ix_business_hours_tenant_calendar", "business_hours", ["tenant_id", "calendar_id", "weekday"])
    op.create_table(
        "business_holidays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(["calendar_id"], ["business_calendars.id"], ondelete="CASCADE",
                                name=op.f("fk_business_holidays_calendar_id_business_calendars")),
        _tenant_fk("business_holidays"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_holidays")),
        sa.UniqueConstraint("calendar_id", "day", name=op.f("uq_business_holidays_calendar_id_day")),
    )
    op.create_index("ix_business_holidays_tenant_day", "business_holidays", ["tenant_id", "day"])
    op.create_table(
        "sla_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("match_tag", sa.String(length=50), nullable=True),
        sa.Column("business_hours", sa.Boolean(), nullable=False),
        sa.Column("warning_percent", sa.SmallInteger(), nullable=False),
        sa.Column("raise_priority_on_breach", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        _tenant_fk("sla_policies"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_sla_policies_tenant_id_name")),
    )
    op.create_index("ix_sla_policies_tenant_default", "sla_policies", ["tenant_id", "is_default"])
    op.create_table(
        "sla_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False),
        sa.Column("next_reply_minutes", sa.Integer(), nullable=True),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["policy_id"], ["sla_policies.id"], ondelete="CASCADE",
                                name=op.f("fk_sla_targets_policy_id_sla_policies")),
        _tenant_fk("sla_targets"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_targets")),
        sa.UniqueConstraint("policy_id", "priority", name=op.f("uq_sla_targets_policy_id_priority")),
    )
    op.create_index("ix_sla_targets_tenant_policy", "sla_targets", ["tenant_id", "policy_id"])
    op.create_table(
        "sla_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("clock", sa.String(length=20), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("due_at", TS, nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _tenant_fk("sla_events"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE",
                                name=op.f("fk_sla_events_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_events")),
    )
    op.create_index("ix_sla_events_tenant_ticket", "sla_events", ["tenant_id", "ticket_id", "created_at", "id"])
    op.create_index("ix_sla_events_tenant_event", "sla_events", ["tenant_id", "event", "created_at"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("ticket_number", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("read_at", TS, nullable=True),
        _tenant_fk("notifications"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE",
                                name=op.f("fk_notifications_ticket_id_tickets")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_notifications_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index("ix_notifications_tenant_user_created", "notifications", ["tenant_id", "user_id", "created_at", "id"])
    op.create_index("ix_notifications_tenant_user_unread", "notifications", ["tenant_id", "user_id", "read_at"])

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        for name, type_, nullable, default in TICKET_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=nullable, server_default=default))
        for name, columns in TICKET_INDEXES:
            batch_op.create_index(name, columns, unique=False)
        batch_op.create_foreign_key(op.f("fk_tickets_sla_policy_id_sla_policies"), "sla_policies",
                                    ["sla_policy_id"], ["id"], ondelete="SET NULL")

    _seed_defaults()


def _seed_defaults():
    """The default calendar and policy for every tenant that exists already."""
    conn = op.get_bind()
    tenants = sa.table("tenants", sa.column("id"), sa.column("timezone"))
    calendars = sa.table("business_calendars", sa.column("id"), sa.column("tenant_id"), sa.column("timezone"),
                         sa.column("updated_at", TS))
    hours = sa.table("business_hours", sa.column("tenant_id"), sa.column("calendar_id"), sa.column("weekday"),
                     sa.column("start_minute"), sa.column("end_minute"))
    policies = sa.table("sla_policies", sa.column("id"), sa.column("tenant_id"), sa.column("name"),
                        sa.column("is_default"), sa.column("match_tag"), sa.column("business_hours"),
                        sa.column("warning_percent"), sa.column("raise_priority_on_breach"),
                        sa.column("created_at", TS), sa.column("updated_at", TS))
    targets = sa.table("sla_targets", sa.column("tenant_id"), sa.column("policy_id"), sa.column("priority"),
                       sa.column("first_response_minutes"), sa.column("next_reply_minutes"),
                       sa.column("resolution_minutes"))
    now = datetime.now(timezone.utc)
    if conn.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # UTCDateTime stores naive UTC on SQLite
    for tenant_id, tz in conn.execute(sa.select(tenants.c.id, tenants.c.timezone)).all():
        calendar_id = conn.execute(calendars.insert().values(tenant_id=tenant_id, timezone=tz or "UTC",
                                                             updated_at=now).returning(calendars.c.id)).scalar_one()
        conn.execute(hours.insert(), [{"tenant_id": tenant_id, "calendar_id": calendar_id, "weekday": day,
                                       "start_minute": 540, "end_minute": 1020} for day in range(5)])
        policy_id = conn.execute(policies.insert().values(
            tenant_id=tenant_id, name="Standard", is_default=True, match_tag=None, business_hours=True,
            warning_percent=80, raise_priority_on_breach=False, created_at=now, updated_at=now,
        ).returning(policies.c.id)).scalar_one()
        conn.execute(targets.insert(), [{"tenant_id": tenant_id, "policy_id": policy_id, "priority": rank,
                                         "first_response_minutes": fr, "next_reply_minutes": nr,
                                         "resolution_minutes": res} for rank, fr, nr, res in DEFAULT_TARGETS])


def downgrade():
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_tickets_sla_policy_id_sla_policies"), type_="foreignkey")
        for name, _ in TICKET_INDEXES:
            batch_op.drop_index(name)
        for name, *_ in reversed(TICKET_COLUMNS):
            batch_op.drop_column(name)
    op.drop_index("ix_notifications_tenant_user_unread", table_name="notifications")
    op.drop_index("ix_notifications_tenant_user_created", table_name="notifications")
    op.drop_table("notifications")
    op.drop_index("ix_sla_events_tenant_event", table_name="sla_events")
    op.drop_index("ix_sla_events_tenant_ticket", table_name="sla_events")
    op.drop_table("sla_events")
    op.drop_index("ix_sla_targets_tenant_policy", table_name="sla_targets")
    op.drop_table("sla_targets")
    op.drop_index("ix_sla_policies_tenant_default", table_name="sla_policies")
    op.drop_table("sla_policies")
    op.drop_index("ix_business_holidays_tenant_day", table_name="business_holidays")
    op.drop_table("business_holidays")
    op.drop_index("ix_business_hours_tenant_calendar", table_name="business_hours")
    op.drop_table("business_hours")
    op.drop_table("business_calendars")
