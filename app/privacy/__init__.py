"""The customer's rights under the GDPR: access (export) and erasure."""
