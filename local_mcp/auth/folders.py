"""Whether a folder is this user's alone: for the token cache (cache.py) and the tools/list cache (listing.py).

Kept apart from cache.py so that the start-up path (listing.py reads its file before
`initialize` is answered) does not import the token cache's machinery.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


def foreign_folder_problem(path: Path) -> str | None:
    """Why another user could read or replace what is in the folder `path`; None when only you can.

    A folder that belongs to someone else, or that others may write in (and that could not be
    made 0700, e.g. on a file system without permissions), could hand this server a planted cache.
    """
    if os.name != "posix":
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    uid = os.geteuid()
    if st.st_uid != uid:
        return f"it belongs to another user (uid {st.st_uid}; you are uid {uid}), who could read or replace the tokens in it"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        who = "every user" if st.st_mode & stat.S_IWOTH else "its group"
        return (
            f"{who} can write in it (mode {stat.S_IMODE(st.st_mode):o}, and it could not be made 700), "
            "so others could replace the files in it"
        )
    return None
