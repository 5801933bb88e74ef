"""The Discord front end: a thin layer that parses, calls the core, and renders."""
