"""Command-line entry points wiring core, engine and ui together."""
