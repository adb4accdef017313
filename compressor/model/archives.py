"""The members each torch zip format defines, so an archive holding anything else is refused
before any loader opens it.

Why: torch's loaders read more than the members they document.  ``torch.export.load``
(torch 2.13) falls back, when its pt2 reader fails (e.g. on a member outside the archive's
root folder), to an older layout whose ``serialized_state_dict.json`` it unpickles with
``weights_only=False``: a crafted ``.pt2`` with such a member ran code on load.  So
``load.py`` asks ``foreign_member`` first and refuses, naming the member, an archive that

* has a member outside its one root folder (torch writes every member below one folder,
  named after the file it saved to), or
* has a member below it that its format does not define (patterns below, as torch 2.13
  writes them: ``torch.export.save``, ``torch.jit.save``, ``torch.save``).

Members a format defines but may unpickle unsafely (pt2 ``use_pickle`` weights, ``.pt``
members) are still checked by ``load._pt2_pickled_member``.
"""

from __future__ import annotations

import re

__all__ = ["ARCHIVE_MEMBERS", "foreign_member", "root_folder"]

# Shared bookkeeping members of torch's zip writer (PyTorchStreamWriter).
_COMMON = (r"version", r"byteorder", r"\.data/version", r"\.data/serialization_id", r"\.format_version",
           r"\.storage_alignment")
ARCHIVE_MEMBERS: dict[str, re.Pattern] = {
    # torch/_C/_export/pt2_archive_constants: models/<name>.json, data/{weights,constants}/...,
    # data/sample_inputs/<name>.pt, extra/<file> (read as text), data/aotinductor/ (refused by load.py)
    "torch.export": re.compile("|".join((*_COMMON, r"archive_format", r"archive_version", r"models/[^/]+\.json",
                                         r"data/weights/[^/]+", r"data/constants/[^/]+",
                                         r"data/sample_inputs/[^/]+\.pt", r"extra/[^/]+", r"data/aotinductor/.+"))),
    # torch.jit.save: the module's pickles (read by the C++ unpickler), its TorchScript code and
    # debug tables, tensor storages, a trace's example inputs, and user extra files (_extra_files,
    # never read unless asked)
    "torchscript": re.compile("|".join((*_COMMON, r"data\.pkl", r"constants\.pkl", r"bytecode\.pkl",
                                        r"traced_inputs\.pkl", r"code/.+", r"data/\d+", r"constants/\d+",
                                        r"traced_inputs/\d+", r"extra/.+"))),
    # torch.save: one pickle and its tensor storages
    "torch.save": re.compile("|".join((*_COMMON, r"data\.pkl", r"data/\d+"))),
}


def root_folder(names: list[str]) -> tuple[str | None, str | None]:
    """(the archive's root folder, None), or (None, the first member outside it)."""
    root = names[0].split("/", 1)[0] if names and "/" in names[0] else None
    for name in names:
        if root is None or not name.startswith(root + "/"):
            return None, name
    return root, None


def foreign_member(names: list[str], kind: str) -> str | None:
    """The first member (path below the root folder) that a ``kind`` archive does not define, or None.

    ``names`` must all lie below one root folder (``root_folder``); directory entries are allowed."""
    allowed = ARCHIVE_MEMBERS[kind]
    for name in names:
        inner = name.split("/", 1)[1]
        if inner and not inner.endswith("/") and not allowed.fullmatch(inner):
            return inner
    return None
