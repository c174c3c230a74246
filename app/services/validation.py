"""Field rules shared by the ticket and people services."""
from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

from app.models.base import MAX_ID  # noqa: F401  (services check ids against it)

TAG_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,49}$")
MAX_TAGS = 20


class Errors:
    """Collects per-field messages; raise_if_any() raises ValidationFailed."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        from app.errors import ValidationFailed

        if self.errors:
            raise ValidationFailed(self.errors)


def clean_text(value: str | None) -> str:
    return (value or "").strip()


def check_length(errors: Errors, field: str, value: str, *, required: bool, maximum: int) -> None:
    if required and not value:
        errors.add(field, "This field is required.")
    elif len(value) > maximum:
        errors.add(field, f"Must be at most {maximum} characters.")


def normalise_email(errors: Errors, field: str, value: str | None) -> str:
    value = clean_text(value)
    if not value:
        errors.add(field, "This field is required.")
        return value
    try:
        return validate_email(value, check_deliverability=False, test_environment=True).normalized
    except EmailNotValidError:
        errors.add(field, "Not a valid email address.")
        return value


def normalise_tags(errors: Errors, field: str, tags) -> list[str]:
    if isinstance(tags, str):
        tags = re.split(r"[,\s]+", tags)
    cleaned: list[str] = []
    for tag in tags or []:
        tag = str(tag).strip().lower().lstrip("#")
        if not tag:
            continue
        if not TAG_RE.match(tag):
            errors.add(field, f"Invalid tag {tag[:50]!r}: use letters, digits, '-' or '_' (at most 50).")
            continue
        if tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        errors.add(field, f"At most {MAX_TAGS} tags.")
    return cleaned
