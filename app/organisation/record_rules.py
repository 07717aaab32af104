"""Skills and topics are the desk's shared vocabulary: every desk role reads all of them
(pools are scoped by membership: ``app.agents.record_rules``, which also holds the write rule
of topics, since who supervises a pool is the agents' knowledge)."""

from app.organisation.models import Skill, Topic
from app.security.rules import any_desk_role

RULES = {Skill: any_desk_role, Topic: any_desk_role}
