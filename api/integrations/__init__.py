"""Integrations with other systems the company runs, one module per system (hubspot.py)."""
