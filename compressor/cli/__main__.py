"""``python -m compressor.cli``: the ``compress`` command."""

from .main import main

main()
