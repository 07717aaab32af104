"""Questionnaires: dictionaries of values, wrap-up questions and exit surveys, their answers."""
