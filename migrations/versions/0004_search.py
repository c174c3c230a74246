"""full-text search index: search_tickets, search_comments (+ FTS5 on SQLite, tsvector + GIN on PostgreSQL)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

DOC_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # INTEGER PRIMARY KEY: the FTS5 rowid

# table -> (indexed text columns in FTS/rank order, PostgreSQL weight of each column)
TEXT = {
    "search_tickets": (("subject", "A"), ("tags", "B"), ("ref", "B"), ("people", "C"), ("description", "D")),
    "search_comments": (("body", "A"), ("author", "C"), ("ref", "D")),
}
# FTS5 column order (bm25 weights in app/services/search/sql.py follow it)
FTS_COLUMNS = {
    "search_tickets": ("subject", "description", "people", "tags", "ref"),
    "search_comments": ("body", "author", "ref"),
}


def upgrade():
    op.create_table(
        "search_tickets",
        sa.Column("id", DOC_ID, autoincrement=False, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("indexed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("people", sa.Text(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("ref", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_search_tickets_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_tickets")),
        sa.UniqueConstraint("tenant_id", "ticket_id", name=op.f("uq_search_tickets_tenant_id_ticket_id")),
    )
    op.create_index("ix_search_tickets_tenant_created", "search_tickets", ["tenant_id", "created_at"])
    op.create_table(
        "search_comments",
        sa.Column("id", DOC_ID, autoincrement=False, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("ticket_number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("indexed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author", sa.Text(), nullable=False),
        sa.Column("ref", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_search_comments_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_comments")),
        sa.UniqueConstraint("tenant_id", "comment_id", name=op.f("uq_search_comments_tenant_id_comment_id")),
    )
    op.create_index("ix_search_comments_tenant_ticket", "search_comments", ["tenant_id", "ticket_id"])
    op.create_index("ix_search_comments_tenant_created", "search_comments", ["tenant_id", "created_at"])

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in TEXT:
            _sqlite_fts(table)
    elif dialect == "postgresql":
        gin_with_tenant = _btree_gin_available()
        for table in TEXT:
            _postgres_tsvector(table, gin_with_tenant)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in TEXT:
            for suffix in ("ai", "ad", "au"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{suffix}")
            op.execute(f"DROP TABLE IF EXISTS {table}_fts")
    elif dialect == "postgresql":
        for table in TEXT:
            op.execute(f"DROP INDEX IF EXISTS ix_{table}_tsv")
    op.drop_index("ix_search_comments_tenant_created", table_name="search_comments")
    op.drop_index("ix_search_comments_tenant_ticket", table_name="search_comments")
    op.drop_table("search_comments")
    op.drop_index("ix_search_tickets_tenant_created", table_name="search_tickets")
    op.drop_table("search_tickets")


# -- SQLite: FTS5 over the document table (external content), kept in step by triggers ---------
def _sqlite_fts(table: str) -> None:
    columns = FTS_COLUMNS[table]
    listed = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    op.execute(
        f"CREATE VIRTUAL TABLE {table}_fts USING fts5({listed}, tenant_id UNINDEXED, "
        f"content='{table}', content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='2 3')"
    )
    insert_new = f"INSERT INTO {table}_fts(rowid, {listed}, tenant_id) VALUES (new.id, {new}, new.tenant_id);"
    delete_old = (f"INSERT INTO {table}_fts({table}_fts, rowid, {listed}, tenant_id) "
                  f"VALUES ('delete', old.id, {old}, old.tenant_id);")
    op.execute(f"CREATE TRIGGER {table}_ai AFTER INSERT ON {table} BEGIN {insert_new} END")
    op.execute(f"CREATE TRIGGER {table}_ad AFTER DELETE ON {table} BEGIN {delete_old} END")
    # Only text changes touch the FTS index: a ticket's status reaching its comments does not.
    op.execute(f"CREATE TRIGGER {table}_au AFTER UPDATE OF {listed}, tenant_id ON {table} "
               f"BEGIN {delete_old} {insert_new} END")


# -- PostgreSQL: a generated, weighted tsvector and a GIN index ---------------------------------
def _btree_gin_available() -> bool:
    """btree_gin lets the GIN index start with tenant_id; without the right to create it, GIN(tsv)."""
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS btree_gin")
        return True
    except Exception:  # not installed, or no privilege: the tenant filter uses the btree indexes
        return False


def _postgres_tsvector(table: str, gin_with_tenant: bool) -> None:
    # Punctuation becomes space before parsing, so PostgreSQL splits words as FTS5's unicode61 does
    # (an email or a hyphenated word is several words, not one 'email' or 'host' token).
    parts = " || ".join(
        f"setweight(to_tsvector('simple'::regconfig, regexp_replace(coalesce({column}, ''), "
        f"'[^[:alnum:]]+', ' ', 'g')), '{weight}')"
        for column, weight in TEXT[table]
    )
    op.execute(f"ALTER TABLE {table} ADD COLUMN tsv tsvector GENERATED ALWAYS AS ({parts}) STORED")
    columns = "tenant_id, tsv" if gin_with_tenant else "tsv"
    op.execute(f"CREATE INDEX ix_{table}_tsv ON {table} USING gin ({columns})")
