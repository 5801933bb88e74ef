"""Tarikh: a Discord bot that answers history questions from a curated, cited fact base."""

__version__ = "0.1.0"
