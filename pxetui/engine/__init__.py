"""The engine owns every socket and child process. It never imports Textual."""
