"""Manifest of the topic tree page (see ``app.core.features``). It needs no permissions of
its own: looking at the tree is listing topics, every change is editing one (``Topic``'s
permissions, ``app.organisation.feature``), and the topic's write rule decides which."""

from app.core.features import Feature

FEATURE = Feature(name="topics", views="app.topics.views:register")
