"""Signed webhooks to a CRM: subscriptions, a database outbox of deliveries, and their log."""
