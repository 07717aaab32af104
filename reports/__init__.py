"""Spreadsheet reports built with pandas as RQ jobs. For now: the run record."""
