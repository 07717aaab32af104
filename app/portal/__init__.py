"""The customer portal: public pages in the customer's language (see ``feature.py``)."""
