"""What a model reads when a tool fails in a way no tool body planned for.

The SDK answers an exception that is not a ToolError with the bare "Error executing tool X":
no reason, no next step, so a model can only guess or give up. `explain` turns every such
exception into one of our errors with both:

- a file on this computer (OSError): the name is too long, the disk is full, a folder may not
  be written... -> LocalFileError, naming the folder and the setting that moves it;
- a date past year 9999 (or before year 1), e.g. `start` 9999-12-31T23:59 plus a duration
  (OverflowError, or datetime's "year ... is out of range") -> DateRangeError;
- anything else while reading an answer (TypeError, KeyError, AttributeError, ValueError...):
  Graph answered in a shape its documentation does not give (a string where an object goes,
  a list instead of an object) -> UnexpectedAnswerError.

The traceback stays in the server's log (redacted, at WARNING): it is for whoever fixes the
bug, not for the model.
"""

from __future__ import annotations

import errno
import logging
import os
import traceback

from ..errors import DateRangeError, LocalFileError, LocalMcpError, UnexpectedAnswerError

logger = logging.getLogger(__name__)

_DATE_WORDS = ("year", "date value out of range", "out of range for", "days=", "month must be", "day is out of range")


def explain(exc: BaseException, tool: str) -> LocalMcpError:
    """One of our errors, with a reason and a next step, for an exception `tool` did not plan for."""
    if isinstance(exc, LocalMcpError):
        return exc
    logger.warning("%s failed with %s; answering with a clear error instead", tool, type(exc).__name__, exc_info=exc)
    if isinstance(exc, OSError):
        return file_error(exc)
    if isinstance(exc, OverflowError) or (isinstance(exc, ValueError) and _about_dates(exc)):
        return DateRangeError(
            "A date in this call is outside the range local-mcp can compute (the years 1 to 9999), for example "
            "a start in 9999 plus a duration, or a very large offset. Pass dates such as 2026-11-22T09:00:00Z "
            "and durations of days or weeks, then call the tool again."
        )
    return UnexpectedAnswerError(
        f"{tool} could not read Microsoft Graph's answer: it is not in the shape Graph documents "
        f"({type(exc).__name__} at {_where(exc)}). If this call changes something, check in Outlook or OneDrive "
        "whether it happened before calling again; otherwise try again. If it keeps happening, report it with "
        "the server's log.",
        code="UnexpectedAnswer",
    )


def file_error(exc: OSError) -> LocalFileError:
    """An OSError on this computer as a LocalFileError saying what to change."""
    path = exc.filename if isinstance(exc.filename, str) else None
    shown = _short_path(path)
    where = f" ({shown})" if shown else ""
    code = exc.errno
    if code == errno.ENAMETOOLONG:
        text = (
            f"A file name is too long for this computer's file system{where}; nothing was saved. Pass a shorter "
            "name, or set LOCAL_MCP_DOWNLOAD_DIR to a folder with a shorter path, and try again."
        )
    elif code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        text = (
            f"The disk is full{where}; nothing was saved. Free some space, or set LOCAL_MCP_DOWNLOAD_DIR to a "
            "folder on another disk, and try again."
        )
    elif isinstance(exc, PermissionError) or code in (errno.EACCES, errno.EPERM, errno.EROFS):
        text = (
            f"local-mcp may not write there{where}: permission denied; nothing was saved. Make the folder "
            "writable for this user, or set LOCAL_MCP_DOWNLOAD_DIR to one that is, and try again."
        )
    else:
        reason = exc.strerror or type(exc).__name__
        text = f"A file operation on this computer failed{where}: {reason}. Check the folder, then try again."
    return LocalFileError(text, path=path, errno=code)


def _about_dates(exc: ValueError) -> bool:
    text = str(exc).lower()
    return any(word in text for word in _DATE_WORDS)


def _where(exc: BaseException) -> str:
    """The innermost local-mcp frame, as file:line (no values: they may hold what Graph sent)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if f"{os.sep}local_mcp{os.sep}" in f.filename] or frames
    if not ours:
        return "unknown place"
    last = ours[-1]
    return f"{os.path.basename(last.filename)}:{last.lineno}"


def _short_path(path: str | None, keep: int = 120) -> str:
    if not path:
        return ""
    return path if len(path) <= keep else path[:50] + "…" + path[-(keep - 51):]
