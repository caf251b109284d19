"""People who use sitslab and what they may do."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, created_column


class Role(StrEnum):
    """Annotators review; reviewers also adjudicate and see everyone's work; admins run it all."""

    annotator = "annotator"
    reviewer = "reviewer"
    admin = "admin"


ROLE_RANK = {Role.annotator: 0, Role.reviewer: 1, Role.admin: 2}


class User(Base):
    """A login; passwords are stored as argon2 hashes only."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[str] = mapped_column(String(20), default=Role.annotator.value)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = created_column()

    def has_role(self, role: Role) -> bool:
        """True when the user's role is `role` or above it."""
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[role]
