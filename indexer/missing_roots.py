"""Roots that are not there. A root given to a run and not found (a disk not mounted) is skipped and named while
the others are indexed; when none is found, the run stops before it changes anything."""

from __future__ import annotations

import os
from collections.abc import Sequence

from db.columns import within
from db.errors import CaptionaryError, UsageError
from indexer.report import IndexReport


def present_roots(roots: Sequence[str], library: str, report: IndexReport) -> list[str]:
    """The roots to index. One inside the library is bad usage; one that is not a folder is skipped and named
    (report.missing_roots) while another is there, and stops the run, changing nothing, when none is."""
    for root in roots:
        if within(root, library):
            raise UsageError(f"{root} is in the library's own folder ({library}), which holds no photos to index")
    present = [root for root in roots if os.path.isdir(root)]
    if not present:
        raise CaptionaryError(f"{roots[0]} is not a folder (is the disk mounted?); nothing was changed")
    report.missing_roots.extend(root for root in roots if root not in present)
    return present
