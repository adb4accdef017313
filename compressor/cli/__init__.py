"""The ``compress`` command line: click commands only (parse, call the API, print; errors map
to exit codes).  ``main.py`` holds the group and the main job; each subcommand has its file."""

from .main import main

__all__ = ["main"]
