"""Roots that are not there. A root given to a run and not found (a disk not mounted) is skipped and named while
the others are indexed. A root indexed before and not found now may have been moved or renamed: when its folder
is proven to be one this run indexed (a folder renamed or moved on its disk keeps its device and inode, and that
disk is mounted) and the run saw the bytes of nearly all its photos, its old paths are removed as a move's are;
when only its photos turned up, the run names the command that drops them. A disk that is not mounted never
loses its records: the device its folder was on is not there to prove anything. A root moved with a link left
at its old name is settled as moved by the run that indexes where the link leads."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from db.catalog import Catalog
from db.columns import within
from db.errors import CaptionaryError, UsageError
from indexer.report import IndexReport

MOVED_SHARE = 0.9  # of a gone root's photos whose bytes a run must see elsewhere before it names them moved


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


def identity(path: str) -> str | None:
    """The folder's device and inode, "st_dev:st_ino": kept by a rename or a move on its disk."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return f"{found.st_dev}:{found.st_ino}"


def settle_moved_roots(
    catalog: Catalog, roots: Sequence[str], run_id: int, report: IndexReport, folders: Mapping[str, str]
) -> None:
    """After a run's photos are written: each indexed root that is gone and whose photos this run found again is
    either settled as moved (proven: its folder is among those the scan entered, `folders` by identity; its old
    paths whose bytes were seen elsewhere are removed, and the root forgotten once nothing else is under it) or
    named with the command that would drop it. Roots inside this run's
    are left to its sweep; a root before those inside it, which it hands their photos.

    Only a run that found known bytes at new paths looks, and it looks at the disk last: a run of nothing moved
    never touches another root's folder (a network share that is down may not answer)."""
    if not report.reused:
        return
    for root, recorded in catalog.other_roots(roots):
        if any(within(root, run_root) for run_root in roots):
            continue
        total, found = catalog.found_elsewhere(root, run_id)
        if not total or found < total * MOVED_SHARE:
            continue
        still_there = not _gone(root)
        if still_there:  # as a link to the folder it was indexed as, or a folder whose photos are copies
            place = _linked_into(root, recorded, folders)
            if place is None:
                continue
        else:
            place = _renamed_to(root, recorded, folders)
            if place is None:
                report.maybe_moved.append((root, found, total))
                continue
        # Only the paths whose bytes are elsewhere: a photo found nowhere else keeps its record (and a person's
        # caption on it), should the proof be wrong, and keeps the root, named with the command that drops it.
        removed, left = catalog.forget_found_elsewhere(root, run_id)
        report.removed += removed
        report.moved += min(found, removed, report.reused - report.moved)  # of the reused (a killed run wrote others)
        if left:  # a link's photos that this run did not see (--exclude) still open through it: nothing to say
            if not still_there:
                report.maybe_moved.append((root, found, total))
            continue
        report.moved_roots.append((root, place))
        if root in report.missing_roots:  # given to this run, and now known to be where it was moved
            report.missing_roots.remove(root)


def _linked_into(root: str, recorded: str | None, folders: Mapping[str, str]) -> str | None:
    """Where the root's path leads now when that is the very folder it was indexed as (its identity kept) and this
    run's scan entered it: a folder moved with a link left at its old name (roots are kept as real paths, so the
    old one is the same photos twice). A link to another folder, copies in it or not, proves nothing."""
    real = os.path.realpath(root)
    if real == root or not recorded or recorded not in folders:
        return None
    return real if identity(root) == recorded else None


def _gone(path: str) -> bool:
    """Nothing is at the path, or a link that leads nowhere (a disk not mounted). A path that cannot be looked at
    (a folder without permission) is not gone."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


def _renamed_to(root: str, recorded: str | None, folders: Mapping[str, str]) -> str | None:
    """The folder this run entered that is the gone root's own: the identity it was last indexed with, on a disk
    that is mounted (the nearest folder above the root that is still there is on that device). A disk taken away
    leaves its device number free for another, so an identity alone proves nothing."""
    if not recorded or recorded not in folders:
        return None  # indexed before identities were recorded, or not seen: only the command is named
    device = int(recorded.split(":", 1)[0])
    return folders[recorded] if _on_device(os.path.dirname(root), device) else None


def _on_device(folder: str, device: int) -> bool:
    """Whether the nearest folder at or above `folder` that exists is on the device."""
    while True:
        try:
            return os.stat(folder).st_dev == device
        except (FileNotFoundError, NotADirectoryError):
            parent = os.path.dirname(folder)
            if parent == folder:
                return False
            folder = parent
        except OSError:
            return False
