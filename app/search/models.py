"""The search index: one ``SearchEntry`` per searchable thing, kept by database triggers.

The triggers (migration ``0034``) write a row when a case, a message, an intake answer or an
attachment is inserted and rewrite its text when the subject, body or name changes, so every
door (intake, replies, notes, the portal, bulk loads) keeps the index without calling Python.
On PostgreSQL the row carries the ``tsvector`` (``document``: subject weighted A, body B, in
the case's language, accents folded by ``unaccent``); on SQLite the text lives in the FTS5
table ``search_fts`` (rowid = ``SearchEntry.id``), which is not a model.
"""

from enum import StrEnum

from flask_appbuilder import Model
from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import relationship


class EntryKind(StrEnum):
    CASE = "case"
    MESSAGE = "message"
    INTAKE = "intake"
    ATTACHMENT = "attachment"

    @property
    def label(self) -> str:
        return {
            "case": "Case",
            "message": "Message",
            "intake": "Intake answer",
            "attachment": "Attachment",
        }[self.value]


class SearchEntry(Model):
    """A case (number and subject), a message (subject and body), an intake answer or an
    attachment's name, with the case it belongs to and its date (what results sort by)."""

    __tablename__ = "search_entry"
    __table_args__ = (
        UniqueConstraint("kind", "source_id", name="uq_search_entry_source"),
        Index("ix_search_entry_case", "case_id"),
        Index("ix_search_entry_created", "created_at", "id"),
    )

    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("case.id", name="fk_search_entry_case_id"), nullable=False)
    case = relationship("Case")
    kind = Column(String(16), nullable=False)
    source_id = Column(Integer, nullable=False)
    created_at = Column(DateTime, nullable=False)
    # PostgreSQL only (its GIN index is made by the migration); unused on SQLite.
    document = Column(TSVECTOR().with_variant(Text(), "sqlite"), nullable=True)


# Made by the migration, not by the models: the FTS5 table on SQLite (and the tables FTS5
# keeps behind it), the GIN and trigram indexes on PostgreSQL. Autogenerate and the check
# that models and migrations agree leave them alone (``include_name``).
UNMODELLED_TABLE_PREFIX = "search_fts"
UNMODELLED_INDEXES = frozenset(
    {
        "ix_search_entry_document",
        "ix_case_number_trgm",
        "ix_customer_email_trgm",
        "ix_customer_name_trgm",
    }
)


def include_name(name, type_, parent_names) -> bool:
    """Alembic's ``include_name`` hook: False for the search index's own objects."""
    if type_ == "table" and name and name.startswith(UNMODELLED_TABLE_PREFIX):
        return False
    return not (type_ == "index" and name in UNMODELLED_INDEXES)
