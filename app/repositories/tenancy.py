"""Tenant-scoped queries for people and tokens, plus the two cross-tenant lookups of sign-in."""
from __future__ import annotations

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, lazyload

from app.errors import NotFound
from app.models import ApiToken, Tenant, User
from app.models.base import utcnow
from app.repositories import ticket_counts
from app.repositories.pagination import Page, paginate
from app.repositories.signed_in import SignedInLookup

# The assignee picker's people (UserRepository.choices), built once.
_CHOICES = (select(User.id, User.name).where(User.tenant_id == bindparam("tenant_id"), User.active.is_(True))
            .order_by(User.name))


class UserRepository:
    def __init__(self, session: Session, tenant_id: int):
        self.session = session
        self.tenant_id = tenant_id

    def _scoped(self):
        return select(User).where(User.tenant_id == self.tenant_id)

    def get(self, user_id: int) -> User:
        user = self.session.scalar(self._scoped().where(User.id == user_id))
        if user is None:
            raise NotFound("User", user_id)
        return user

    def find(self, user_id: int | None) -> User | None:
        if user_id is None:
            return None
        return self.session.scalar(self._scoped().where(User.id == user_id))

    def by_email(self, email: str) -> User | None:
        return self.session.scalar(self._scoped().where(func.lower(User.email) == email.lower()))

    def active(self) -> list[User]:
        # (their tenant is this one, already loaded: no join to load it once per person)
        return list(self.session.scalars(self._scoped().where(User.active.is_(True)).order_by(User.name)
                                         .options(lazyload(User.tenant))))

    def choices(self) -> tuple:
        """(id, name) rows of the active people, by name: what an assignee picker lists, read without the
        ORM (a page draws the picker twice; loading 20 User objects for it cost ~0.3 ms).

        Remembered as the queue's totals are (repositories/ticket_counts.py): people are added and
        (de)activated only by audited changes, which move the tenant's audit chain in the same
        transaction, so the list stored under the chain's position is exact until the next change. The
        tenant row came with the signed-in user or token (identity map): the key costs no query."""
        return ticket_counts.until_next_change(self.session, self.tenant_id, "people", self._choices)

    def _choices(self) -> tuple:
        return tuple(self.session.execute(_CHOICES, {"tenant_id": self.tenant_id}).all())

    def with_role(self, role: str) -> list[User]:
        stmt = self._scoped().where(User.active.is_(True), User.role == role).order_by(User.name)
        return list(self.session.scalars(stmt))

    def list(self, page: int, limit: int) -> Page:
        return paginate(self.session, self._scoped().order_by(User.name, User.id), page, limit)

    def add(self, user: User) -> User:
        user.tenant_id = self.tenant_id
        self.session.add(user)
        return user


class TokenRepository:
    def __init__(self, session: Session, tenant_id: int):
        self.session = session
        self.tenant_id = tenant_id

    def get(self, token_id: int) -> ApiToken:
        token = self.session.scalar(
            select(ApiToken).where(ApiToken.tenant_id == self.tenant_id, ApiToken.id == token_id)
        )
        if token is None:
            raise NotFound("ApiToken", token_id)
        return token

    def for_user(self, user_id: int) -> list[ApiToken]:
        stmt = (
            select(ApiToken)
            .where(ApiToken.tenant_id == self.tenant_id, ApiToken.user_id == user_id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
        return list(self.session.scalars(stmt))

    def all(self) -> list[ApiToken]:
        stmt = (
            select(ApiToken)
            .where(ApiToken.tenant_id == self.tenant_id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
        return list(self.session.scalars(stmt))

    def add(self, token: ApiToken) -> ApiToken:
        token.tenant_id = self.tenant_id
        self.session.add(token)
        return token


# -- sign-in: the only queries that run before a tenant is known ----------------
def tenant_by_slug(session: Session, slug: str) -> Tenant | None:
    return session.scalar(select(Tenant).where(Tenant.slug == slug))


def login_candidates(session: Session, email: str) -> list[User]:
    """Every user with this email, in any tenant: sign-in asks for the workspace only on a tie."""
    return list(session.scalars(select(User).where(func.lower(User.email) == email.strip().lower())))


# Every API request runs this first: one statement, made into the three objects (repositories/signed_in.py).
token_by_hash = SignedInLookup(ApiToken, ApiToken.token_hash)
"""token_by_hash(session, token_hash): the token with its user and the user's tenant, or None."""


def touch_token(session: Session, token_id: int) -> None:
    """Record a token's last use without a full unit of work (it is not a change to audit)."""
    from app.repositories.sqlite import begin_write

    begin_write(session)  # SQLite: a write transaction, not an upgrade of a read one ("database is locked")
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow()))
    session.commit()
