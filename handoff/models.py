"""Handoff lifecycle models arrive with the handoff issue."""
