"""AgentProfile, PoolMembership and Absence."""

from flask_appbuilder import Model
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import relationship

agent_skill = Table(
    "agent_skill",
    Model.metadata,
    Column("agent_id", Integer, ForeignKey("agent_profile.id"), primary_key=True),
    Column("skill_id", Integer, ForeignKey("skill.id"), primary_key=True),
)


class AgentProfile(Model):
    """The desk side of a user account: what the person works on and how.

    One profile per login (``ab_user``). Pool memberships carry the pick priority used by
    "Get next case"; ``replies_need_approval`` sends the agent's replies to a supervisor first.
    """

    __tablename__ = "agent_profile"

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, unique=True)
    user = relationship("User")
    signature = Column(String(2000), nullable=True)
    replies_need_approval = Column(Boolean, nullable=False, default=False)
    may_attach_files = Column(Boolean, nullable=False, default=False)
    # An agent who has left keeps his history (cases, replies, memberships) but is no longer
    # offered as a colleague to forward or assign to; deleting one in use deactivates him.
    active = Column(Boolean, nullable=False, default=True, server_default=true())
    substitute_id = Column(Integer, ForeignKey("agent_profile.id"), nullable=True)
    substitute = relationship("AgentProfile", remote_side=[id])
    skills = relationship("Skill", secondary=agent_skill)
    memberships = relationship(
        "PoolMembership", back_populates="agent", cascade="all, delete-orphan"
    )
    absences = relationship(
        "Absence",
        back_populates="agent",
        cascade="all, delete-orphan",
        foreign_keys="Absence.agent_id",
    )

    def __repr__(self) -> str:
        user = self.user
        if user is None:
            return f"agent #{self.id}"
        full = f"{user.first_name or ''} {user.last_name or ''}".strip()
        return full or user.username


class PoolMembership(Model):
    """An agent works in a pool; lower ``priority`` numbers are picked from first."""

    __tablename__ = "pool_membership"
    __table_args__ = (UniqueConstraint("agent_id", "pool_id", name="uq_membership_agent_pool"),)

    id = Column(Integer, primary_key=True)
    agent_id = Column(Integer, ForeignKey("agent_profile.id"), nullable=False)
    agent = relationship("AgentProfile", back_populates="memberships")
    pool_id = Column(Integer, ForeignKey("pool.id"), nullable=False, index=True)
    pool = relationship("Pool", back_populates="memberships")
    priority = Column(Integer, nullable=False, default=1)
    # Supervisors configure their pools and approve replies in them.
    is_supervisor = Column(Boolean, nullable=False, default=False)

    def __repr__(self) -> str:
        role = "supervisor" if self.is_supervisor else f"priority {self.priority}"
        return f"{self.agent} in {self.pool} ({role})"


class Absence(Model):
    """A period in which an agent is away; the substitute takes over his cases."""

    __tablename__ = "absence"

    id = Column(Integer, primary_key=True)
    agent_id = Column(Integer, ForeignKey("agent_profile.id"), nullable=False, index=True)
    agent = relationship("AgentProfile", back_populates="absences", foreign_keys=[agent_id])
    starts_at = Column(DateTime, nullable=False)
    ends_at = Column(DateTime, nullable=False)
    substitute_id = Column(Integer, ForeignKey("agent_profile.id"), nullable=True)
    substitute = relationship("AgentProfile", foreign_keys=[substitute_id])
    note = Column(String(512), nullable=True)
    # When the agent saw the "welcome back" notice of this absence (what was handed over,
    # nothing moves back): shown once, on his first page after the absence ended.
    return_noticed_at = Column(DateTime, nullable=True)

    def __repr__(self) -> str:
        return f"{self.agent} away {self.starts_at:%Y-%m-%d}–{self.ends_at:%Y-%m-%d}"
