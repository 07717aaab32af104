"""Fixtures of the knowledge base tests: the small desk (pools A and B) and a helper that
writes articles through the service, as the admin."""

from __future__ import annotations

import pytest


@pytest.fixture
def article(desk):
    """``article(versions={"en": ("Title", "<p>Body</p>")}, pools=[desk.pool_a], ...)``"""
    from app.audit.actor import acting_as
    from app.extensions import db
    from app.knowledge import services

    def make(versions, pools=(), *, public=False, status="published", tags=""):
        with acting_as(desk.user("admin")):
            row = services.save_article(
                None,
                services.ArticleInput(
                    versions=versions,
                    tags=tags,
                    pool_ids=[p.id for p in pools],
                    public=public,
                    status=status,
                ),
            )
        db.session.commit()
        return row

    return make
