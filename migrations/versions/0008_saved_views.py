"""saved views: named queue filters, private or shared with the workspace; an index for their counts

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 22:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_saved_views_tenant_id_tenants")),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_saved_views_owner_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
    )
    with op.batch_alter_table("saved_views", schema=None) as batch_op:
        batch_op.create_index("ix_saved_views_tenant_owner", ["tenant_id", "owner_id", "name"], unique=False)
        batch_op.create_index("ix_saved_views_tenant_shared", ["tenant_id", "shared", "name"], unique=False)
    # The default views count a person's (or nobody's) unsolved tickets from the index alone.
    op.create_index("ix_tickets_tenant_assignee_status", "tickets", ["tenant_id", "assignee_id", "status"], unique=False)


def downgrade():
    op.drop_index("ix_tickets_tenant_assignee_status", table_name="tickets")
    with op.batch_alter_table("saved_views", schema=None) as batch_op:
        batch_op.drop_index("ix_saved_views_tenant_shared")
        batch_op.drop_index("ix_saved_views_tenant_owner")
    op.drop_table("saved_views")
