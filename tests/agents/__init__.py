"""Tests of agents: absences and their hand-over."""
