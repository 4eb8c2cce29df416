"""Database models for platforms, the tool's keys, launches and the people they bring.

Claims are synced into these tables once, at launch; views read the tables, not raw claims.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from l2i_db import Base, utcnow

URL = String(1024)
LTI_ID = String(255)


def new_learner_key() -> str:
    """Return a fresh pseudonymous learner key (never derived from an LMS user id)."""
    return secrets.token_hex(16)


def name_to_show(name: str | None, given_name: str | None, family_name: str | None, sub: str) -> str:
    """Return the best name an LMS gave a person (full, else given + family), or "User <sub>"."""
    if name:
        return name
    joined = " ".join(part for part in (given_name, family_name) if part)
    return joined or f"User {sub}"


class Platform(Base):
    """One registration of the tool in an LMS: an issuer and the client_id it gave us."""

    __tablename__ = "platform"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    issuer: Mapped[str] = mapped_column(URL)
    client_id: Mapped[str] = mapped_column(LTI_ID)
    auth_login_url: Mapped[str] = mapped_column(URL)
    auth_token_url: Mapped[str] = mapped_column(URL)
    key_set_url: Mapped[str] = mapped_column(URL)
    auth_audience: Mapped[str | None] = mapped_column(URL, default=None)
    # The institution's own LRS (``l2i platform lrs``); its password is read from the environment
    # variable named here, never stored.
    lrs_endpoint: Mapped[str | None] = mapped_column(URL, default=None)
    lrs_username: Mapped[str | None] = mapped_column(String(255), default=None)
    lrs_password_env: Mapped[str | None] = mapped_column(String(100), default=None)
    # How its learners appear in statements: "account" (pseudonymous), "mbox" or "mbox_sha1sum".
    xapi_actor: Mapped[str] = mapped_column(String(16), default="account", server_default="account")
    # Whether this LMS verifies its users' email addresses, so that the same address at two
    # trusting platforms may join the identities into one learner record (off by default).
    trusts_email: Mapped[bool] = mapped_column(default=False, server_default=false())
    disabled_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    deployments: Mapped[list[Deployment]] = relationship(
        back_populates="platform", cascade="all, delete-orphan", order_by="Deployment.id"
    )


class Deployment(Base):
    """A deployment of the tool within a platform (Moodle: the tool type)."""

    __tablename__ = "deployment"
    __table_args__ = (UniqueConstraint("platform_id", "deployment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(LTI_ID)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    platform: Mapped[Platform] = relationship(back_populates="deployments")


class ToolKey(Base):
    """One of the tool's RSA signing keys. Retired keys stay published until their grace ends."""

    __tablename__ = "tool_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    private_key_pem: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    published_until: Mapped[dt.datetime | None] = mapped_column(default=None)


class LtiValue(Base):
    """Short-lived LTI launch data (OIDC state, issued nonces, validated launches), shared by all workers."""

    __tablename__ = "lti_value"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)


class Learner(Base):
    """A person's learner record. Several platform users may link to one learner."""

    __tablename__ = "learner"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True, default=new_learner_key)
    # When the learner agreed that trainers at their other institutions may see the evidence they
    # earned here (None: not agreed). Their proficiency always uses all of their own evidence.
    shares_evidence_since: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PlatformUser(Base):
    """A user as one platform knows them: the issuer and its ``sub``."""

    __tablename__ = "platform_user"
    __table_args__ = (UniqueConstraint("issuer", "sub"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(URL)
    sub: Mapped[str] = mapped_column(LTI_ID)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learner.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(255), default=None)
    given_name: Mapped[str | None] = mapped_column(String(255), default=None)
    family_name: Mapped[str | None] = mapped_column(String(255), default=None)
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    # the address lower-cased: linking by verified email finds identities by it (an indexed read)
    email_key: Mapped[str | None] = mapped_column(String(320), default=None, index=True)
    locale: Mapped[str | None] = mapped_column(String(35), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_launch_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    learner: Mapped[Learner] = relationship()

    @property
    def display_name(self) -> str:
        """Return the best name the platform gave us, or a neutral stand-in."""
        return name_to_show(self.name, self.given_name, self.family_name, self.sub)


class Context(Base):
    """A course (LTI context) within a deployment."""

    __tablename__ = "context"
    __table_args__ = (UniqueConstraint("deployment_id", "context_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id", ondelete="RESTRICT"))
    context_id: Mapped[str] = mapped_column(LTI_ID)
    title: Mapped[str | None] = mapped_column(String(255), default=None)
    label: Mapped[str | None] = mapped_column(String(255), default=None)
    types: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    deployment: Mapped[Deployment] = relationship()


class Membership(Base):
    """A user's roles in a context, as of their latest launch."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "context_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("platform_user.id", ondelete="CASCADE"))
    context_id: Mapped[int] = mapped_column(
        ForeignKey("context.id", ondelete="CASCADE"), index=True
    )
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Whether the roles include Learner: the dashboards' cohorts are the members who study.
    studies: Mapped[bool] = mapped_column(default=False, server_default=false())
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[PlatformUser] = relationship()
    context: Mapped[Context] = relationship()


class CourseGroup(Base):
    """The group a trainer put a learner in, within one context (one group per learner and course)."""

    __tablename__ = "course_group_member"
    __table_args__ = (UniqueConstraint("context_id", "learner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("context.id", ondelete="CASCADE"))
    learner_id: Mapped[int] = mapped_column(ForeignKey("learner.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ResourceLink(Base):
    """A placement of the tool in a course (an LMS activity)."""

    __tablename__ = "resource_link"
    __table_args__ = (UniqueConstraint("deployment_id", "link_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id", ondelete="RESTRICT"))
    context_id: Mapped[int | None] = mapped_column(
        ForeignKey("context.id", ondelete="CASCADE"), default=None, index=True
    )
    link_id: Mapped[str] = mapped_column(LTI_ID)
    title: Mapped[str | None] = mapped_column(String(255), default=None)
    custom: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    lineitem_url: Mapped[str | None] = mapped_column(URL, default=None)
    lineitems_url: Mapped[str | None] = mapped_column(URL, default=None)
    memberships_url: Mapped[str | None] = mapped_column(URL, default=None)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ToolSession(Base):
    """The tool's own session after a launch, carried by a signed token (works without cookies)."""

    __tablename__ = "tool_session"
    __table_args__ = (Index("ix_tool_session_expires_at", "expires_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("platform_user.id", ondelete="CASCADE"))
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"))
    context_id: Mapped[int | None] = mapped_column(
        ForeignKey("context.id", ondelete="CASCADE"), default=None
    )
    resource_link_id: Mapped[int | None] = mapped_column(
        ForeignKey("resource_link.id", ondelete="CASCADE"), default=None
    )
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    message_type: Mapped[str] = mapped_column(String(64))
    launch_id: Mapped[str | None] = mapped_column(String(128), default=None)
    locale: Mapped[str | None] = mapped_column(String(35), default=None)
    custom: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()

    user: Mapped[PlatformUser] = relationship()
    platform: Mapped[Platform] = relationship()
    context: Mapped[Context | None] = relationship()
    resource_link: Mapped[ResourceLink | None] = relationship()


class ProgrammeSnapshot(Base):
    """The programme view's figures as last counted: what the page shows between refreshes.

    Counting a whole programme reads every learner's standings (about a second at 50,000
    learners), so the worker counts it every few minutes and the page reads the counts. Only
    aggregates, course titles and institution names are kept: nothing about one learner.
    """

    __tablename__ = "programme_snapshot"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    built_at: Mapped[dt.datetime] = mapped_column()
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
