"""Customers: the people who write to the desk."""
