"""Agents: desk users with pool memberships, skills, approval flag and absences."""
