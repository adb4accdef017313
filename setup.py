"""Package discovery, the one thing pyproject.toml cannot say alone.

Every package under ``compressor/`` is found (a hand-written list once left ``compressor.prune``
and ``compressor.dsconv`` out of the wheel); the zoo and the device profiles live in the
repository's ``models/`` and ``targets/`` folders and install inside the package as
``compressor.zoo`` and ``compressor.target_files`` (``[tool.setuptools.package-dir]``).
"""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["compressor", "compressor.*"]), "compressor.zoo", "compressor.target_files"])
