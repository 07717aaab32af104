"""Manifest of the customer's rights: export and erasure (see ``app.core.features``).

Admins only: no other role is granted ``CustomerPrivacy`` (the admin role may do
everything), and the services check it again for every door.
"""

from app.core.features import Feature

FEATURE = Feature(
    name="privacy",
    views="app.privacy.views:register",
    cli="app.privacy.cli:register",
)
