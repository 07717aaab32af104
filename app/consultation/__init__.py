"""Consultation of departments: an agent asks a department (legal, finance, …) by mail from a
case, the department's reply threads back into the case, never visible to the customer."""
