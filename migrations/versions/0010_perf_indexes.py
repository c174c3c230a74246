"""perf indexes: the queue sorted by priority reads its page from an index

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 23:10:00

The queue's priority sort is ``priority DESC, id DESC`` (the keyset cursor carries
priority and id). ix_tickets_tenant_priority has updated_at between the two, so
both databases sorted the whole top-priority group for every page: with 100,000
tickets, about 10,000 rows per page view (PostgreSQL 27 ms, an incremental sort;
SQLite a temporary B-tree). With (tenant_id, priority, id) the page is an index
range of 20 rows. The old index stays: priority filters with the default sort use it.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    # a plain CREATE INDEX on both databases (no batch copy of the table on SQLite)
    op.create_index("ix_tickets_tenant_priority_id", "tickets", ["tenant_id", "priority", "id"], unique=False)


def downgrade():
    op.drop_index("ix_tickets_tenant_priority_id", table_name="tickets")
