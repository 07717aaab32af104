"""Signals about customers that other features subscribe to (a lower feature offers a hook
instead of importing a higher one).

``personal_data_erased``: sent by ``app.privacy.services.erase_customer`` inside the erasure's
transaction, after the desk's own tables were rewritten and before the commit, with the
customer (as he now is: placeholder address, no name) and ``case_ids``, the ids of his cases.
A receiver that keeps its own copy of the texts (a search index: app/search) rewrites or
drops its entries for those cases and that customer, in the same session, so the erasure
commits as a whole or not at all. A receiver must not raise for a customer it never knew.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

personal_data_erased = _signals.signal("personal-data-erased")
