"""notifications: preferences per person, event and channel; ticket followers; email messages

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 10:00:00

The in-app notifications table itself came with the SLA revision (0003); this
one adds what email delivery, preferences and following need.
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "notification_preferences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"],
                                name=op.f("fk_notification_preferences_tenant_id_tenants")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_notification_preferences_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_preferences")),
        sa.UniqueConstraint("tenant_id", "user_id", "event_type", "channel",
                            name="uq_notification_preferences_tenant_user_event_channel"),
    )

    op.create_table(
        "ticket_followers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_ticket_followers_tenant_id_tenants")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE",
                                name=op.f("fk_ticket_followers_ticket_id_tickets")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_ticket_followers_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_followers")),
        sa.UniqueConstraint("tenant_id", "ticket_id", "user_id",
                            name=op.f("uq_ticket_followers_tenant_id_ticket_id_user_id")),
    )
    op.create_index("ix_ticket_followers_tenant_user", "ticket_followers", ["tenant_id", "user_id"])

    op.create_table(
        "email_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.String(length=36), nullable=True),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("template", sa.String(length=40), nullable=False),
        sa.Column("ticket_number", sa.Integer(), nullable=True),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("lease_expires_at", TS, nullable=True),
        sa.Column("last_attempt_at", TS, nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("last_code", sa.Integer(), nullable=True),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_email_messages_tenant_id_tenants")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL",
                                name=op.f("fk_email_messages_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_messages")),
        sa.UniqueConstraint("message_id", name=op.f("uq_email_messages_message_id")),
        sa.UniqueConstraint("tenant_id", "event_id", "user_id",
                            name=op.f("uq_email_messages_tenant_id_event_id_user_id")),
    )
    op.create_index("ix_email_messages_tenant_created", "email_messages", ["tenant_id", "created_at", "id"])
    op.create_index("ix_email_messages_tenant_status", "email_messages", ["tenant_id", "status", "created_at", "id"])
    op.create_index("ix_email_messages_status_next", "email_messages", ["status", "next_attempt_at"])


def downgrade():
    op.drop_index("ix_email_messages_status_next", table_name="email_messages")
    op.drop_index("ix_email_messages_tenant_status", table_name="email_messages")
    op.drop_index("ix_email_messages_tenant_created", table_name="email_messages")
    op.drop_table("email_messages")
    op.drop_index("ix_ticket_followers_tenant_user", table_name="ticket_followers")
    op.drop_table("ticket_followers")
    op.drop_table("notification_preferences")
