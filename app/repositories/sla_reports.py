"""SQL for the SLA dashboard: attainment, percentiles, breaches and a daily trend, per tenant.

Percentiles are nearest-rank: the value at rank ⌈p·n⌉ of the sorted values
(the median of 1, 2, 3, 4 is 2). Two implementations give the same numbers:

- ``window``: ROW_NUMBER() and COUNT() over a partition, keeping the row whose
  rank r satisfies r·100 ≥ p·n > (r-1)·100 (integers only); SQLite and PostgreSQL;
- ``ordered_set``: PostgreSQL's ``percentile_disc(p) WITHIN GROUP (ORDER BY v)``.

``percentiles()`` picks ``ordered_set`` on PostgreSQL and ``window`` elsewhere;
tests run both against the same hand-computed numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, and_, case, cast, func, literal, select, union_all
from sqlalchemy.orm import Session

from app.models import SlaEvent, Ticket

PERCENTS = (50, 90)
DIMENSIONS = {"overall": None, "priority": Ticket.priority, "agent": Ticket.assignee_id}


@dataclass(frozen=True)
class Measure:
    """One SLA target measured over tickets: when it completed, whether it was met, how long it took."""

    name: str
    at: object
    met: object
    minutes: object


MEASURES = (
    Measure("first_response", Ticket.first_response_at, Ticket.first_response_met, Ticket.first_response_minutes),
    Measure("resolution", Ticket.resolved_at, Ticket.resolution_met, Ticket.resolution_minutes),
)


def _group(dimension: str):
    column = DIMENSIONS[dimension]
    return column if column is not None else cast(literal(0), Integer)


class SlaReportQueries:
    def __init__(self, session: Session, tenant_id: int):
        self.session = session
        self.tenant_id = tenant_id

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def _completed(self, measure: Measure, start: datetime, end: datetime):
        return (Ticket.tenant_id == self.tenant_id, measure.at >= start, measure.at < end, measure.met.is_not(None))

    def attainment(self, measure: Measure, dimension: str, start: datetime, end: datetime) -> dict:
        """{group: (completed, met)} for targets completed in [start, end)."""
        group = _group(dimension)
        stmt = (select(group, func.count(), func.sum(case((measure.met.is_(True), 1), else_=0)))
                .where(*self._completed(measure, start, end)).group_by(group))
        return {key: (total, int(met or 0)) for key, total, met in self.session.execute(stmt)}

    def percentiles(self, measure: Measure, dimension: str, start: datetime, end: datetime,
                    method: str | None = None) -> dict:
        """{group: {percent: minutes}} over targets completed in [start, end)."""
        method = method or ("ordered_set" if self.dialect == "postgresql" else "window")
        where = (*self._completed(measure, start, end), measure.minutes.is_not(None))
        return (self._ordered_set if method == "ordered_set" else self._window)(measure.minutes, dimension, where)

    def _window(self, value, dimension: str, where) -> dict:
        group = _group(dimension)
        partition = {"partition_by": group} if DIMENSIONS[dimension] is not None else {}
        ranked = select(
            group.label("g"), value.label("v"),
            func.row_number().over(order_by=(value, Ticket.id), **partition).label("r"),
            func.count().over(**partition).label("n"),
        ).where(*where).subquery()
        picks = [select(ranked.c.g, cast(literal(p), Integer).label("p"), ranked.c.v)
                 .where(ranked.c.r * 100 >= p * ranked.c.n, (ranked.c.r - 1) * 100 < p * ranked.c.n)
                 for p in PERCENTS]
        out: dict = {}
        for g, p, v in self.session.execute(union_all(*picks)):
            out.setdefault(g, {})[p] = v
        return self._typed(dimension, out)

    def _ordered_set(self, value, dimension: str, where) -> dict:
        group = _group(dimension)
        columns = [func.percentile_disc(p / 100).within_group(value) for p in PERCENTS]
        stmt = select(group, *columns).where(*where).group_by(group)
        return {row[0]: {p: int(v) for p, v in zip(PERCENTS, row[1:]) if v is not None}
                for row in self.session.execute(stmt)}

    @staticmethod
    def _typed(dimension: str, out: dict) -> dict:
        """The window query's union loses the priority column's type: give names back."""
        if dimension != "priority":
            return out
        from app.models.tickets import PRIORITIES

        return {PRIORITIES[g] if isinstance(g, int) else g: v for g, v in out.items()}

    def breaches(self, dimension: str, start: datetime, end: datetime) -> dict:
        """{group: breaches escalated in [start, end)}, grouped by the ticket's current priority or assignee."""
        group = _group(dimension)
        stmt = (select(group, func.count())
                .select_from(SlaEvent).join(Ticket, Ticket.id == SlaEvent.ticket_id)
                .where(SlaEvent.tenant_id == self.tenant_id, SlaEvent.event == "breached",
                       SlaEvent.created_at >= start, SlaEvent.created_at < end)
                .group_by(group))
        return dict(self.session.execute(stmt).all())

    # -- the daily trend: one CASE maps a moment to its local day, days cut in the tenant's zone --
    @staticmethod
    def _day_index(column, bounds: list[datetime]):
        return case(*[(column < bound, i) for i, bound in enumerate(bounds[1:])], else_=len(bounds) - 2)

    def daily_attainment(self, measure: Measure, bounds: list[datetime]) -> dict:
        """{day index: (completed, met)}; ``bounds`` are the n+1 UTC midnights of n local days."""
        day = self._day_index(measure.at, bounds)
        stmt = (select(day, func.count(), func.sum(case((measure.met.is_(True), 1), else_=0)))
                .where(*self._completed(measure, bounds[0], bounds[-1])).group_by(day))
        return {i: (total, int(met or 0)) for i, total, met in self.session.execute(stmt)}

    def daily_breaches(self, bounds: list[datetime]) -> dict:
        day = self._day_index(SlaEvent.created_at, bounds)
        stmt = (select(day, func.count())
                .where(SlaEvent.tenant_id == self.tenant_id, SlaEvent.event == "breached",
                       SlaEvent.created_at >= bounds[0], SlaEvent.created_at < bounds[-1])
                .group_by(day))
        return dict(self.session.execute(stmt).all())

    # -- now ----------------------------------------------------------------------------------
    def tickets_in_state(self, state: str, limit: int) -> tuple[list[Ticket], int]:
        from sqlalchemy.orm import selectinload

        where = and_(Ticket.tenant_id == self.tenant_id, Ticket.sla_state == state)
        total = self.session.scalar(select(func.count()).where(where)) or 0
        stmt = (select(Ticket).where(where).order_by(Ticket.sla_due_at.asc().nulls_last(), Ticket.id)
                .limit(limit).options(selectinload(Ticket.assignee)))
        return list(self.session.scalars(stmt)), total
