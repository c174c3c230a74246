"""macros and presence: canned replies per tenant; who is viewing or typing on a ticket

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 22:30:00

Written by hand for SQLite and PostgreSQL alike; follows 0008 (saved views).
ticket_presence is upserted (INSERT ... ON CONFLICT DO UPDATE, which both databases
have), so its primary key is the conflict target: (tenant_id, ticket_id, user_id).
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "macros",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("set_status", sa.String(length=16), nullable=True),
        sa.Column("add_tags", sa.String(length=1100), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_macros_tenant_id_tenants")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], ondelete="SET NULL",
                                name=op.f("fk_macros_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_macros")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_macros_tenant_id_name")),
    )
    op.create_index("ix_macros_tenant_updated", "macros", ["tenant_id", "updated_at"])

    op.create_table(
        "ticket_presence",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("seen_at", TS, nullable=False),
        sa.Column("typing_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_ticket_presence_tenant_id_tenants")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE",
                                name=op.f("fk_ticket_presence_ticket_id_tickets")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_ticket_presence_user_id_users")),
        sa.PrimaryKeyConstraint("tenant_id", "ticket_id", "user_id", name=op.f("pk_ticket_presence")),
    )
    op.create_index("ix_ticket_presence_tenant_seen", "ticket_presence", ["tenant_id", "seen_at"])


def downgrade():
    op.drop_index("ix_ticket_presence_tenant_seen", table_name="ticket_presence")
    op.drop_table("ticket_presence")
    op.drop_index("ix_macros_tenant_updated", table_name="macros")
    op.drop_table("macros")
