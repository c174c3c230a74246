"""SQL full text behind the search interface: SQLite FTS5 and PostgreSQL tsvector.

Both read the document tables of migration 0004 and answer (total, hits) for one
page, best first; both take the tenant from the unit of work:

- SQLite: ``search_*_fts MATCH '"word" "prefix"*'`` ranked by bm25 (subject
  weighs most). The tenant filter is the FTS rowid range: a document id is
  ``tenant_id << 32 | source id``, so FTS5 walks only the tenant's part of each
  doclist, and counting needs no row lookups. Filters (status, priority, assignee,
  dates, visibility) add a correlated EXISTS on the document row, which also
  checks ``tenant_id``. For a very common query, bm25 ranks the RANK_WINDOW most
  recent matches and older matches follow newest first: ranking every one of
  tens of thousands of near-identical matches costs more than it is worth
  (docs/performance.md); the total stays exact.
- PostgreSQL: ``tenant_id = :tenant AND tsv @@ to_tsquery('simple', '...')``
  ranked by ts_rank_cd over the weighted tsvector (A subject ... D description),
  with the same RANK_WINDOW: when matches are dense, the newest come from the
  primary key read backwards (1-2 ms for two words in 30,000 comments), where
  ranking every match read and scored them all (70–80 ms); when they are sparse,
  from the GIN index (``_dense`` chooses, from the exact count). The tsquery is a
  constant in the SQL, so every plan, prepared or not, knows the words. The count
  still reads every match (15-20 ms for 30,000).

Highlighting is ours (app/services/search/highlight.py), over the stored text.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Integer, Text, and_, bindparam, column, exists, func, literal_column, select, table

from app.models.search import SearchComment, SearchTicket, tenant_id_range
from app.repositories.search import SearchIndexRepository
from app.repositories.unit_of_work import UnitOfWork
from app.services.search import Filters, RawHit
from app.services.search.highlight import highlight, snippet
from app.services.search.terms import Terms

RANK_WINDOW = 500
_SIMPLE = literal_column("'simple'::regconfig")


@dataclass(frozen=True)
class Spec:
    model: type
    fts: str
    bm25_weights: tuple[float, ...]  # FTS5 column order of migration 0004


SPECS = {
    # subject, description, people, tags, ref
    "tickets": Spec(SearchTicket, "search_tickets_fts", (10.0, 1.0, 3.0, 5.0, 5.0)),
    # body, author, ref
    "comments": Spec(SearchComment, "search_comments_fts", (1.0, 2.0, 0.5)),
}


def filter_conditions(model, filters: Filters) -> list:
    conds = []
    if filters.statuses:
        conds.append(model.status.in_(filters.statuses))
    if filters.priorities:
        conds.append(model.priority.in_(filters.priorities))
    if filters.unassigned:
        conds.append(model.assignee_id.is_(None))
    elif filters.assignee_id is not None:
        conds.append(model.assignee_id == filters.assignee_id)
    if filters.created_from is not None:
        conds.append(model.created_at >= filters.created_from)
    if filters.created_before is not None:
        conds.append(model.created_at < filters.created_before)
    if filters.public is not None and model is SearchComment:
        conds.append(model.public.is_(filters.public))
    return conds


class SqlBackend:
    name = "sql"

    def search(self, uow: UnitOfWork, kind: str, terms: Terms, filters: Filters, offset: int,
               limit: int) -> tuple[int, list[RawHit]]:
        if not terms:
            return 0, []
        spec = SPECS[kind]
        dialect = uow.session.get_bind().dialect.name
        if dialect == "sqlite":
            total, ranked = _sqlite(uow, spec, terms, filters, offset, limit)
        elif dialect == "postgresql":
            total, ranked = _postgres(uow, spec, terms, filters, offset, limit)
        else:  # pragma: no cover - the app runs on these two
            raise RuntimeError(f"no full-text search for {dialect}")
        texts = {row[0]: row for row in SearchIndexRepository(uow.session, uow.tenant_id).texts(
            kind, [doc_id for doc_id, _ in ranked])}
        hits = []
        for doc_id, score in ranked:
            row = texts.get(doc_id)
            if row is None:
                continue
            if kind == "tickets":
                fields = {"subject": highlight(row[2], terms), "snippet": snippet(row[3], terms)}
            else:
                fields = {"snippet": snippet(row[2], terms)}
            hits.append(RawHit(row[1], score, fields))
        return total, hits


# -- SQLite FTS5 ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Fts5Statements:
    """The statements of one FTS5 search, built once per table (and per filter set) with bind parameters."""

    count: object
    threshold: object
    rank: object
    tail: object


def _fts5_statements(spec: Spec, conds: list | None = None, tenant_id: int | None = None) -> _Fts5Statements:
    fts = table(spec.fts, column("rowid", Integer))
    rowid = fts.c.rowid
    fts_table = literal_column(spec.fts)
    extra = []
    if conds:  # filters: an EXISTS on the document row, which checks tenant_id too
        doc = spec.model
        extra.append(exists().where(doc.id == rowid, doc.tenant_id == tenant_id, *conds))
    # One BETWEEN :low AND :high, so FTS5 gets both rowid bounds and seeks instead of filtering row by row.
    where = [fts_table.op("MATCH")(bindparam("match")), rowid.between(bindparam("low"), bindparam("high")), *extra]
    score = func.bm25(fts_table, *spec.bm25_weights)
    return _Fts5Statements(
        count=select(func.count()).select_from(fts).where(*where),
        threshold=select(rowid).select_from(fts).where(*where).order_by(rowid.desc())
        .limit(1).offset(bindparam("skip")),
        rank=select(rowid, score.label("score")).select_from(fts).where(*where)
        .order_by(score, rowid.desc()).limit(bindparam("take")).offset(bindparam("skip")),
        tail=select(rowid).select_from(fts).where(*where).order_by(rowid.desc())
        .limit(bindparam("take")).offset(bindparam("skip")),
    )


_UNFILTERED = {kind: _fts5_statements(spec) for kind, spec in SPECS.items()}


def _sqlite(uow: UnitOfWork, spec: Spec, terms: Terms, filters: Filters, offset: int, limit: int):
    conds = filter_conditions(spec.model, filters)
    if conds:
        sql = _fts5_statements(spec, conds, uow.tenant_id)
    else:
        sql = _UNFILTERED["tickets" if spec.model is SearchTicket else "comments"]
    low, high = tenant_id_range(uow.tenant_id)
    match = terms.fts5()
    session = uow.session
    total = session.scalar(sql.count, {"match": match, "low": low, "high": high}) or 0
    if total == 0 or offset >= total:
        return total, []
    # The window's lowest rowid: every match when they fit in it.
    threshold = low if total <= RANK_WINDOW else session.scalar(
        sql.threshold, {"match": match, "low": low, "high": high, "skip": RANK_WINDOW - 1})

    def rank(take: int, skip: int):
        rows = session.execute(sql.rank, {"match": match, "low": threshold, "high": high, "take": take, "skip": skip})
        return [(r[0], -float(r[1])) for r in rows]

    def tail(take: int, skip: int):
        rows = session.execute(sql.tail, {"match": match, "low": low, "high": threshold - 1, "take": take,
                                          "skip": skip})
        return [(r[0], None) for r in rows]

    return total, _windowed(total, offset, limit, rank, tail)


def _windowed(total: int, offset: int, limit: int, rank, tail) -> list[tuple[int, float | None]]:
    """One page when only the RANK_WINDOW newest matches are ranked and the rest follow, newest first.
    ``rank(take, skip)`` pages through the window best first, ``tail(take, skip)`` through what is
    older than the window, newest first (both backends)."""
    hits = rank(min(limit, RANK_WINDOW - offset), offset) if offset < RANK_WINDOW else []
    rest = offset + limit - max(offset, RANK_WINDOW)
    if rest > 0 and total > RANK_WINDOW:
        hits += tail(rest, max(0, offset - RANK_WINDOW))
    return hits


# -- PostgreSQL tsvector ------------------------------------------------------------------------
def _known(value: int):
    """An integer written into the SQL rather than bound: every plan of the statement knows it."""
    return bindparam(None, int(value), type_=Integer, literal_execute=True)


def _dense(total: int, rows_needed: int, span: int) -> bool:
    """Whether reading the primary key backwards finds the ``rows_needed`` newest of ``total`` matches
    sooner than reading every match through the GIN index and sorting them.

    Backwards, about rows_needed × span / total rows are read, if matches are spread evenly over the
    ids (filtered queries, whose matches may all be old, always take the index); through the index,
    total. PostgreSQL decides this from its guess of the match count, which multiplies the words'
    frequencies as if they were independent: 1,416 for two words that come together in 19,981 of
    300,000 comments, so it read and sorted all 19,981 (27 ms) where going backwards reads about
    7,500 (1.8 ms). The count is known exactly here."""
    return total * total > rows_needed * span


def _postgres(uow: UnitOfWork, spec: Spec, terms: Terms, filters: Filters, offset: int, limit: int):
    doc = spec.model
    tsv = literal_column(f"{doc.__tablename__}.tsv")
    # The query goes into the SQL as a constant, for both halves of it:
    # - the configuration as a literal, not a bound cast: a cast from text to regconfig is only
    #   stable, so PostgreSQL would not fold the tsquery when planning, would guess the match count
    #   (1,407 instead of 31,651 for two common words in 300,000 comments) and read the newest
    #   matches with parallel workers: 10-12 ms where the folded query plans a plain backward scan
    #   of the primary key, 1.8 ms;
    # - the words rendered inline (literal_execute: SQLAlchemy still caches the compiled statement),
    #   not a bound parameter: psycopg prepares a statement run five times on a connection, and the
    #   generic plan PostgreSQL then keeps for a prepared statement cannot know the words, so it read
    #   and sorted every match of a common query: 25 ms instead of 1.6 (docs/performance.md).
    # The words are letters and digits (terms.py); the literal is escaped by SQLAlchemy's String type.
    # The tenant, id range, limits and offsets are constants too (_known): with parameters left, the
    # generic plan of the prepared rank statement read "walker billing" (662 matches) backwards along
    # the primary key instead of through the index, 16 ms instead of 3.5.
    query = func.to_tsquery(_SIMPLE, bindparam("tsquery", terms.tsquery(), type_=Text, literal_execute=True))
    tenant = doc.tenant_id == _known(uow.tenant_id)
    filtered = filter_conditions(doc, filters)
    conds = [tenant, tsv.op("@@")(query), *filtered]
    session = uow.session
    total = session.scalar(select(func.count()).select_from(doc).where(and_(*conds))) or 0
    if total == 0 or offset >= total:
        return total, []
    # Reading backwards along the primary key: the tenant's range of ids, and @@ as its function,
    # the same test, which no index can serve (so PostgreSQL cannot choose the GIN index instead).
    low, high = tenant_id_range(uow.tenant_id)
    backwards = [tenant, doc.id.between(_known(low), _known(high)), func.ts_match_vq(tsv, query)]
    span = (None if filtered or total <= RANK_WINDOW
            else SearchIndexRepository(session, uow.tenant_id).document_id_span(doc))

    def newest_first(rows_needed: int) -> list:
        """The conditions that read ``rows_needed`` matches, newest first, the cheaper way."""
        return backwards if span is not None and _dense(total, rows_needed, span) else conds

    matches = select(doc.id.label("id"), tsv.label("tsv"))
    if total > RANK_WINDOW:  # the newest: the primary key read backwards, or every match sorted
        matches = matches.where(*newest_first(RANK_WINDOW)).order_by(doc.id.desc()).limit(_known(RANK_WINDOW))
    else:
        matches = matches.where(*conds)
    newest = matches.subquery()  # without a LIMIT, PostgreSQL flattens it: every match through the GIN index
    score = func.ts_rank_cd(newest.c.tsv, query)

    def rank(take: int, skip: int):
        rows = session.execute(select(newest.c.id, score.label("score"))
                               .order_by(score.desc(), newest.c.id.desc()).limit(_known(take))
                               .offset(_known(skip)))
        return [(r[0], float(r[1])) for r in rows]

    def tail(take: int, skip: int):
        rows = session.execute(select(doc.id).where(*newest_first(RANK_WINDOW + skip + take))
                               .order_by(doc.id.desc()).limit(_known(take)).offset(_known(RANK_WINDOW + skip)))
        return [(r[0], None) for r in rows]

    return total, _windowed(total, offset, limit, rank, tail)
