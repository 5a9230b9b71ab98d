"""Trigger rule models arrive with the triggers issue."""
