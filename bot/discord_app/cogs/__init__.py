"""Cogs: each parses a command, calls the core, and renders; no logic of their own."""
