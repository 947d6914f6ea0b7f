"""The engine's control API: newline-delimited JSON on a private unix socket."""
