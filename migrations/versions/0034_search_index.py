"""search: one index over cases, messages, intake answers and attachment names

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-04 18:45:00

``search_entry``: one row per searchable thing (a case's number and subject, a message's
subject and body, an intake answer, an attachment's name), with its case and date, kept by
database triggers on the source tables, so every door that writes them (intake, replies,
notes, the portal, bulk loads with COPY) keeps the index right (``app.search``).

PostgreSQL: a stored ``tsvector`` (``document``; the subject weighted A, the body B) in the
case's language (the customer's ``language`` → ``ld_<language>``, ``ld_simple`` otherwise),
every configuration folding accents with ``unaccent``; a GIN index; ``pg_trgm`` indexes on
case numbers and customers' addresses and names for partial matches.

SQLite: an FTS5 table ``search_fts`` (rowid = ``search_entry.id``; unicode61 with diacritics
removed, porter stemming) kept by triggers; letters that Unicode does not decompose (ł, ø, ß,
æ, …) are folded by the triggers (and by the query) so "lodz" finds "Łódź".
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None

# Customer language code -> PostgreSQL snowball stemmer; every other language: ld_simple.
LANGUAGES = {
    'en': 'english', 'de': 'german', 'sv': 'swedish', 'fr': 'french', 'es': 'spanish',
    'it': 'italian', 'nl': 'dutch', 'da': 'danish', 'no': 'norwegian', 'nb': 'norwegian',
    'fi': 'finnish', 'pt': 'portuguese',
}
# Letters FTS5's unicode61 does not strip of their diacritics (they do not decompose).
SQLITE_FOLDS = (
    ('Ł', 'L'), ('ł', 'l'), ('Đ', 'D'), ('đ', 'd'), ('Ø', 'O'), ('ø', 'o'), ('ß', 'ss'),
    ('Æ', 'AE'), ('æ', 'ae'), ('Œ', 'OE'), ('œ', 'oe'), ('Þ', 'TH'), ('þ', 'th'), ('ı', 'i'),
    ('Ħ', 'H'), ('ħ', 'h'),
)
MAX_BODY = 100000  # characters of a body that are indexed (a tsvector holds at most 1 MB)


def _fold(expr):
    for letter, plain in SQLITE_FOLDS:
        expr = f"replace({expr}, '{letter}', '{plain}')"
    return expr


def _postgresql_upgrade():
    op.execute('CREATE EXTENSION IF NOT EXISTS unaccent')
    op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    op.execute('CREATE TEXT SEARCH CONFIGURATION ld_simple (COPY = simple)')
    op.execute(
        'ALTER TEXT SEARCH CONFIGURATION ld_simple '
        'ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple'
    )
    for stemmer in sorted(set(LANGUAGES.values())):
        op.execute(f'CREATE TEXT SEARCH CONFIGURATION ld_{stemmer} (COPY = {stemmer})')
        op.execute(
            f'ALTER TEXT SEARCH CONFIGURATION ld_{stemmer} '
            f'ALTER MAPPING FOR hword, hword_part, word WITH unaccent, {stemmer}_stem'
        )
    whens = ' '.join(
        f"WHEN '{code}' THEN 'ld_{stemmer}'" for code, stemmer in sorted(LANGUAGES.items())
    )
    op.execute(f"""
        CREATE FUNCTION ld_search_config(language text) RETURNS regconfig
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
          SELECT (CASE split_part(lower(coalesce(language, '')), '-', 1) {whens}
                  ELSE 'ld_simple' END)::regconfig
        $$""")
    op.execute(f"""
        CREATE FUNCTION ld_search_vector(config regconfig, title text, body text)
        RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
          SELECT setweight(to_tsvector(config, coalesce(title, '')), 'A')
              || setweight(to_tsvector(config, left(coalesce(body, ''), {MAX_BODY})), 'B')
        $$""")
    op.execute("""
        CREATE FUNCTION ld_case_config(case_id integer) RETURNS regconfig
        LANGUAGE sql STABLE AS $$
          SELECT ld_search_config(cu.language)
          FROM "case" c LEFT JOIN customer cu ON cu.id = c.customer_id WHERE c.id = case_id
        $$""")
    op.execute("""
        CREATE FUNCTION ld_search_message() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE doc tsvector := ld_search_vector(
            coalesce(ld_case_config(NEW.case_id), 'ld_simple'), NEW.subject,
            concat_ws(' ', NEW.from_address, NEW.body_text));
        BEGIN
          IF TG_OP = 'INSERT' THEN
            INSERT INTO search_entry (case_id, kind, source_id, created_at, document)
            VALUES (NEW.case_id, 'message', NEW.id, NEW.created_at, doc);
          ELSE
            UPDATE search_entry SET case_id = NEW.case_id, document = doc
            WHERE kind = 'message' AND source_id = NEW.id;
          END IF;
          RETURN NULL;
        END $$""")
    op.execute("""
        CREATE TRIGGER ld_search_message AFTER INSERT OR UPDATE OF subject, body_text,
        from_address, case_id ON message FOR EACH ROW EXECUTE FUNCTION ld_search_message()""")
    op.execute("""
        CREATE FUNCTION ld_search_case() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE doc tsvector := ld_search_vector(
            coalesce(ld_case_config(NEW.id), 'ld_simple'), NEW.subject, NEW.number);
        BEGIN
          IF TG_OP = 'INSERT' THEN
            INSERT INTO search_entry (case_id, kind, source_id, created_at, document)
            VALUES (NEW.id, 'case', NEW.id, NEW.received_at, doc);
          ELSE
            UPDATE search_entry SET document = doc WHERE kind = 'case' AND source_id = NEW.id;
          END IF;
          RETURN NULL;
        END $$""")
    op.execute("""
        CREATE TRIGGER ld_search_case AFTER INSERT OR UPDATE OF subject, number, customer_id
        ON "case" FOR EACH ROW EXECUTE FUNCTION ld_search_case()""")
    op.execute("""
        CREATE FUNCTION ld_search_intake() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE doc tsvector := ld_search_vector(
            coalesce(ld_case_config(NEW.case_id), 'ld_simple'),
            concat_ws(' ', NEW.value_label, NEW.value_text), NEW.label);
        BEGIN
          IF TG_OP = 'INSERT' THEN
            INSERT INTO search_entry (case_id, kind, source_id, created_at, document)
            VALUES (NEW.case_id, 'intake', NEW.id, NEW.created_at, doc);
          ELSE
            UPDATE search_entry SET document = doc WHERE kind = 'intake' AND source_id = NEW.id;
          END IF;
          RETURN NULL;
        END $$""")
    op.execute("""
        CREATE TRIGGER ld_search_intake AFTER INSERT OR UPDATE OF value_text, value_label, label
        ON case_intake_answer FOR EACH ROW EXECUTE FUNCTION ld_search_intake()""")
    op.execute("""
        CREATE FUNCTION ld_search_attachment() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE doc tsvector := ld_search_vector('ld_simple',
            concat_ws(' ', NEW.filename, translate(NEW.filename, '._-', '   ')), '');
        BEGIN
          IF TG_OP = 'INSERT' THEN
            INSERT INTO search_entry (case_id, kind, source_id, created_at, document)
            SELECT m.case_id, 'attachment', NEW.id, m.created_at, doc
            FROM message m WHERE m.id = NEW.message_id;
          ELSE
            UPDATE search_entry SET document = doc
            WHERE kind = 'attachment' AND source_id = NEW.id;
          END IF;
          RETURN NULL;
        END $$""")
    op.execute("""
        CREATE TRIGGER ld_search_attachment AFTER INSERT OR UPDATE OF filename ON attachment
        FOR EACH ROW EXECUTE FUNCTION ld_search_attachment()""")
    op.execute('CREATE INDEX ix_search_entry_document ON search_entry USING gin (document)')
    op.execute('CREATE INDEX ix_case_number_trgm ON "case" USING gin (number gin_trgm_ops)')
    op.execute('CREATE INDEX ix_customer_email_trgm ON customer USING gin (email gin_trgm_ops)')
    op.execute('CREATE INDEX ix_customer_name_trgm ON customer USING gin (name gin_trgm_ops)')


def _sqlite_upgrade():
    op.execute(
        "CREATE VIRTUAL TABLE search_fts USING fts5(title, body, "
        "tokenize = 'porter unicode61 remove_diacritics 2')"
    )

    def entry(kind, source, case_id, created_at, title, body, table, when=''):
        return f"""
        CREATE TRIGGER ld_search_{table}_insert AFTER INSERT ON "{table}" {when}
        BEGIN
          INSERT INTO search_entry (case_id, kind, source_id, created_at)
          VALUES ({case_id}, '{kind}', {source}, {created_at});
          INSERT INTO search_fts (rowid, title, body) VALUES (
            (SELECT id FROM search_entry WHERE kind = '{kind}' AND source_id = {source}),
            {_fold(title)}, {_fold(body)});
        END"""

    def update(kind, table, columns, title, body):
        return f"""
        CREATE TRIGGER ld_search_{table}_update AFTER UPDATE OF {columns} ON "{table}"
        BEGIN
          UPDATE search_fts SET title = {_fold(title)}, body = {_fold(body)}
          WHERE rowid = (SELECT id FROM search_entry
                         WHERE kind = '{kind}' AND source_id = NEW.id);
        END"""

    message_body = "coalesce(NEW.from_address, '') || ' ' || coalesce(NEW.body_text, '')"
    op.execute(entry('message', 'NEW.id', 'NEW.case_id', 'NEW.created_at',
                     "coalesce(NEW.subject, '')", message_body, 'message'))
    op.execute(update('message', 'message', 'subject, body_text, from_address',
                      "coalesce(NEW.subject, '')", message_body))
    op.execute("""
        CREATE TRIGGER ld_search_message_moved AFTER UPDATE OF case_id ON message
        BEGIN
          UPDATE search_entry SET case_id = NEW.case_id
          WHERE kind = 'message' AND source_id = NEW.id;
        END""")
    op.execute(entry('case', 'NEW.id', 'NEW.id', 'NEW.received_at',
                     "coalesce(NEW.subject, '')", 'NEW.number', 'case'))
    op.execute(update('case', 'case', 'subject, number', "coalesce(NEW.subject, '')", 'NEW.number'))
    op.execute(entry('intake', 'NEW.id', 'NEW.case_id', 'NEW.created_at',
                     "coalesce(NEW.value_label, '') || ' ' || NEW.value_text", 'NEW.label',
                     'case_intake_answer'))
    op.execute(update('intake', 'case_intake_answer', 'value_text, value_label, label',
                      "coalesce(NEW.value_label, '') || ' ' || NEW.value_text", 'NEW.label'))
    attachment_title = (
        "coalesce(NEW.filename, '') || ' ' || "
        "replace(replace(replace(coalesce(NEW.filename, ''), '.', ' '), '_', ' '), '-', ' ')"
    )
    op.execute(entry('attachment', 'NEW.id',
                     '(SELECT case_id FROM message WHERE id = NEW.message_id)',
                     '(SELECT created_at FROM message WHERE id = NEW.message_id)',
                     attachment_title, "''", 'attachment'))
    op.execute(update('attachment', 'attachment', 'filename', attachment_title, "''"))


def _index_existing_rows():
    """Rows written before this migration: through the same triggers, by touching nothing
    but asking the database to index them (INSERT … SELECT, one statement per kind)."""
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute("""
            INSERT INTO search_entry (case_id, kind, source_id, created_at, document)
            SELECT c.id, 'case', c.id, c.received_at,
                   ld_search_vector(ld_search_config(cu.language), c.subject, c.number)
            FROM "case" c LEFT JOIN customer cu ON cu.id = c.customer_id""")
        op.execute("""
            INSERT INTO search_entry (case_id, kind, source_id, created_at, document)
            SELECT m.case_id, 'message', m.id, m.created_at,
                   ld_search_vector(ld_search_config(cu.language), m.subject,
                                    concat_ws(' ', m.from_address, m.body_text))
            FROM message m JOIN "case" c ON c.id = m.case_id
            LEFT JOIN customer cu ON cu.id = c.customer_id""")
        op.execute("""
            INSERT INTO search_entry (case_id, kind, source_id, created_at, document)
            SELECT a.case_id, 'intake', a.id, a.created_at,
                   ld_search_vector(ld_search_config(cu.language),
                                    concat_ws(' ', a.value_label, a.value_text), a.label)
            FROM case_intake_answer a JOIN "case" c ON c.id = a.case_id
            LEFT JOIN customer cu ON cu.id = c.customer_id""")
        op.execute("""
            INSERT INTO search_entry (case_id, kind, source_id, created_at, document)
            SELECT m.case_id, 'attachment', a.id, m.created_at, ld_search_vector('ld_simple',
                   concat_ws(' ', a.filename, translate(a.filename, '._-', '   ')), '')
            FROM attachment a JOIN message m ON m.id = a.message_id""")
        return
    fold = lambda expr: _fold(expr)  # noqa: E731
    op.execute("""
        INSERT INTO search_entry (case_id, kind, source_id, created_at)
        SELECT id, 'case', id, received_at FROM "case"
        UNION ALL SELECT case_id, 'message', id, created_at FROM message
        UNION ALL SELECT case_id, 'intake', id, created_at FROM case_intake_answer
        UNION ALL SELECT m.case_id, 'attachment', a.id, m.created_at
                  FROM attachment a JOIN message m ON m.id = a.message_id""")
    op.execute(f"""
        INSERT INTO search_fts (rowid, title, body)
        SELECT e.id, {fold("coalesce(c.subject, '')")}, c.number
        FROM search_entry e JOIN "case" c ON c.id = e.source_id WHERE e.kind = 'case'
        UNION ALL
        SELECT e.id, {fold("coalesce(m.subject, '')")},
               {fold("coalesce(m.from_address, '') || ' ' || coalesce(m.body_text, '')")}
        FROM search_entry e JOIN message m ON m.id = e.source_id WHERE e.kind = 'message'
        UNION ALL
        SELECT e.id, {fold("coalesce(a.value_label, '') || ' ' || a.value_text")}, a.label
        FROM search_entry e JOIN case_intake_answer a ON a.id = e.source_id
        WHERE e.kind = 'intake'
        UNION ALL
        SELECT e.id, {fold("coalesce(a.filename, '')")}, ''
        FROM search_entry e JOIN attachment a ON a.id = e.source_id
        WHERE e.kind = 'attachment'""")


def upgrade():
    bind = op.get_bind()
    document = sa.Text() if bind.dialect.name != 'postgresql' else sa.dialects.postgresql.TSVECTOR()
    op.create_table(
        'search_entry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('source_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('document', document, nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['case.id'], name='fk_search_entry_case_id'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('kind', 'source_id', name='uq_search_entry_source'),
    )
    op.create_index('ix_search_entry_case', 'search_entry', ['case_id'])
    op.create_index('ix_search_entry_created', 'search_entry', ['created_at', 'id'])
    if bind.dialect.name == 'postgresql':
        _postgresql_upgrade()
    else:
        _sqlite_upgrade()
    _index_existing_rows()


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        for table, trigger in (('message', 'ld_search_message'), ('"case"', 'ld_search_case'),
                               ('case_intake_answer', 'ld_search_intake'),
                               ('attachment', 'ld_search_attachment')):
            op.execute(f'DROP TRIGGER IF EXISTS {trigger} ON {table}')
            op.execute(f'DROP FUNCTION IF EXISTS {trigger}()')
        op.execute('DROP INDEX IF EXISTS ix_case_number_trgm')
        op.execute('DROP INDEX IF EXISTS ix_customer_email_trgm')
        op.execute('DROP INDEX IF EXISTS ix_customer_name_trgm')
        op.execute('DROP FUNCTION IF EXISTS ld_case_config(integer)')
        op.execute('DROP FUNCTION IF EXISTS ld_search_vector(regconfig, text, text)')
        op.execute('DROP FUNCTION IF EXISTS ld_search_config(text)')
        for stemmer in sorted(set(LANGUAGES.values())) + ['simple']:
            op.execute(f'DROP TEXT SEARCH CONFIGURATION IF EXISTS ld_{stemmer}')
    else:
        for name in ('message_insert', 'message_update', 'message_moved', 'case_insert',
                     'case_update', 'case_intake_answer_insert', 'case_intake_answer_update',
                     'attachment_insert', 'attachment_update'):
            op.execute(f'DROP TRIGGER IF EXISTS ld_search_{name}')
        op.execute('DROP TABLE IF EXISTS search_fts')
    op.drop_index('ix_search_entry_created', table_name='search_entry')
    op.drop_index('ix_search_entry_case', table_name='search_entry')
    op.drop_table('search_entry')
