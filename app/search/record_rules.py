"""Record rules of search: an index entry is seen by whoever sees its case.

The search service applies the case rule inside its own SQL (``services``); this rule keeps
every other reader of ``search_entry`` (a generic list, an export) to the same cases.
"""

from app.cases.record_rules import visible_case_ids
from app.search.models import SearchEntry
from app.security.rules import record_rule


@record_rule
def search_entry_criterion(user):
    return SearchEntry.case_id.in_(visible_case_ids(user))


RULES = {SearchEntry: search_entry_criterion}
