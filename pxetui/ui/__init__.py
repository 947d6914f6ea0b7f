"""The Textual operator console: a client of the engine."""
