"""The app's photos on screen: the grid of results and the view of one photo (its metadata, its caption and
tags to edit, the photos that look like it). search_app.py lays out the page around them."""

from __future__ import annotations

import os

import streamlit as st

from db.errors import CaptionaryError, NotIndexedError
from db.store import Store, display_text, normalize_tag, words_analyzer
from db.types import ImageRecord, SearchHit
from indexer.models.caption_text import first_sentence, one_line
from search_assets import (
    breakable,
    distinguishing_folders,
    escape_markdown,
    highlighted_markdown,
    model_name,
    short_path,
)

TEXT_LINES_SHOWN = 3  # of the text read in a photo; the rest folded
TILE_CAPTION = 140  # characters of a caption under a thumbnail: about four lines of a tile


def select_image(file_id: int | None) -> None:
    st.session_state["selected"] = file_id


# -- results grid ------------------------------------------------------------------------------


def grid_ui(store: Store, hits: list[SearchHit], terms: set[str], folders: dict[str, str] | None = None) -> None:
    """folders: what tells same-named files apart (search_assets.distinguishing_folders), by path; from
    these hits when not given (the page's other grid may hold a namesake too)."""
    if not hits:
        return
    if folders is None:
        folders = distinguishing_folders([hit.image.path for hit in hits])
    # One row of columns that the page's CSS lays out as a grid: as many columns as fit the window
    # (5 at 1400 px, 4 at 800 px with the sidebar closed), every tile square.
    with st.container(key=f"grid-{hits[0].match}"):
        for column, hit in zip(st.columns(len(hits)), hits):
            with column:
                thumbnail_ui(store, hit.image)
                # A paragraph from a vision-language model would make every tile a column of text.
                opening = first_sentence(hit.image.caption)
                shown = one_line(opening, TILE_CAPTION)  # a sentence that never ends (a person's 3,000 characters)
                more = "" if shown.endswith("…") or len(opening) >= len(hit.image.caption.strip()) else " …"
                st.markdown(highlighted_markdown(shown, terms) + more)
                pair = f" · RAW+JPEG with {os.path.basename(hit.image.pair)}" if hit.image.pair else ""
                name = breakable(escape_markdown(hit.image.name + pair))
                # the folder only where a namesake is on the page, a paragraph of its own: each is cut on its own
                folder = folders.get(hit.image.path)
                st.caption(name + (f"\n\n{breakable(escape_markdown(folder))}" if folder else ""))
                st.button("Open", key=f"open-{hit.image.id}", on_click=select_image, args=(hit.image.id,))


def thumbnail_ui(store: Store, image: ImageRecord) -> None:
    from indexer.imaging import ImageReadError, check_indexed_file
    from indexer.thumbnails import ensure_thumbnail

    try:
        # Only paths from the DB, looked up by id, are ever read: no widget can name a file.
        cached = store.thumbnail(image.content_hash)
        if not cached.exists():
            check_indexed_file(image.path, image.size)
        thumbnail = ensure_thumbnail(cached, image.path)
        st.image(str(thumbnail), width="stretch")
    except (ImageReadError, OSError):
        st.image(_placeholder(), width="stretch")  # a square where the picture would be: the row stays aligned
        st.caption("(photo unavailable)")


@st.cache_resource
def _placeholder() -> bytes:
    import io

    from PIL import Image

    square = io.BytesIO()
    Image.new("RGB", (64, 64), (232, 232, 232)).save(square, "PNG")
    return square.getvalue()


# -- detail view ---------------------------------------------------------------------------------


def neighbours_ui(file_id: int) -> None:
    ids = st.session_state.get("result_ids", [])
    position = ids.index(file_id) if file_id in ids else None
    has_previous = position is not None and position > 0
    has_next = position is not None and position + 1 < len(ids)
    # One row of buttons at their natural widths, side by side (columns spread them across the page).
    with st.container(horizontal=True):
        st.button("← Back to results", key="detail-back", on_click=select_image, args=(None,), help="Esc")
        st.button(
            "‹ Previous",
            key="detail-prev",
            disabled=not has_previous,
            on_click=select_image,
            args=(ids[position - 1] if has_previous and position is not None else None,),
            help="Left arrow",
        )
        st.button(
            "Next ›",
            key="detail-next",
            disabled=not has_next,
            on_click=select_image,
            args=(ids[position + 1] if has_next and position is not None else None,),
            help="Right arrow",
        )


def taken_text(image: ImageRecord) -> str:
    """ "2023-11-15 05:30 (UTC-07:00)", "2023-11-15 12:30 UTC", or the time alone when its zone is unknown."""
    if image.taken_at is None:
        return f"unknown (file date {image.mtime:%Y-%m-%d})"
    zone = {None: "", "Z": " UTC"}.get(image.taken_zone, f" (UTC{image.taken_zone})")
    return f"{image.taken_at:%Y-%m-%d %H:%M}{zone}"


def metadata_ui(image: ImageRecord) -> None:
    rows = {
        "Taken": taken_text(image),
        "Dimensions": f"{image.width} × {image.height}",
        "Size": f"{image.size / 1_000_000:.1f} MB" if image.size >= 100_000 else f"{image.size / 1000:.0f} kB",
        "Format": image.format,
        # rows a photo has no value for are left out: most photos carry no camera (no EXIF) or position
        "Camera": image.camera,
        "Place": image.place,
        "Rating": "★" * image.rating if image.rating and image.rating > 0 else ("rejected" if image.rating == -1 else None),
        "Caption by": "a person (edited)" if image.edited else model_name(image.model),
        # The file's keywords apart from the others: what the person said in another tool.
        "Keywords from the file": ", ".join(image.file_tags),
        "Tags": ", ".join(tag for tag in image.tags if tag not in image.file_tags) or "none",
        "Folder": short_path(image).rsplit("/", 1)[0],
        # a RAW and the JPEG the camera wrote beside it are one shot (both indexed): each names the other
        "RAW+JPEG pair": os.path.basename(image.pair) if image.pair else None,
    }
    # Every value comes from a file or a person: escaped, so it shows as text (no link, no remote image).
    shown = {label: escape_markdown(value) for label, value in rows.items() if value}
    shown["Folder"] = breakable(shown["Folder"])  # a long folder wraps after a slash, not inside a name
    st.markdown("\n".join(f"- **{label}:** {value}" for label, value in shown.items()))
    if image.pair_id is not None:
        label = f"Open {escape_markdown(os.path.basename(image.pair or ''))}"  # a label is Markdown too
        st.button(label, key=f"pair-{image.id}", on_click=select_image, args=(image.pair_id,))


def text_ui(text: str) -> None:
    """The text read in the photo (OCR), after the details: its first lines, the rest folded; the words of
    the search in bold."""
    terms = {token.text for token in words_analyzer()(st.session_state.get("query") or "")}
    lines = [highlighted_markdown(line, terms) for line in text.splitlines() if line.strip()]
    st.markdown("**Text in the photo:**  \n" + "  \n".join(lines[:TEXT_LINES_SHOWN]))
    if len(lines) > TEXT_LINES_SHOWN:
        with st.expander(f"{len(lines) - TEXT_LINES_SHOWN} more lines"):
            st.markdown("  \n".join(lines[TEXT_LINES_SHOWN:]))


# An edit is saved in its button's callback, which runs before the page is drawn again: the view then reads
# the photo back from the library and shows what was saved (caption, "a person", tags, the Revert button).
def _notice(file_id: int, form: str, text: str, ok: bool) -> None:
    st.session_state[f"notice-{form}-{file_id}"] = (text, ok)


def _show_notice(file_id: int, form: str) -> None:
    text, ok = st.session_state.pop(f"notice-{form}-{file_id}", (None, True))
    if text is not None:
        (st.success if ok else st.error)(text)


def _field(key: str, stored: str) -> None:
    """An edit field shows what is stored: set when first drawn, and again whenever the stored value has
    changed since (a save, a revert, the auto-tags of a new caption, an index run meanwhile). Kept in the
    session rather than passed as `value=`, so that a save can put the stored form (normalised) back in it."""
    if key not in st.session_state or st.session_state.get(f"{key}-stored") != stored:
        st.session_state[key] = stored
        st.session_state[f"{key}-stored"] = stored


def _save_caption(store: Store, file_id: int) -> None:
    try:
        saved = store.set_caption(file_id, st.session_state[f"caption-{file_id}"])
        st.session_state[f"caption-{file_id}"] = saved.caption
        _notice(file_id, "caption", "Saved. Re-indexing will keep your caption.", ok=True)
    except CaptionaryError as error:
        _notice(file_id, "caption", str(error), ok=False)


def _revert_caption(store: Store, file_id: int) -> None:
    try:
        st.session_state[f"caption-{file_id}"] = store.set_caption(file_id, None).caption
        _notice(file_id, "caption", "Back to the model's caption.", ok=True)
    except CaptionaryError as error:
        _notice(file_id, "caption", str(error), ok=False)


def _save_tags(store: Store, file_id: int) -> None:
    text = st.session_state[f"tags-{file_id}-text"]
    wanted = {normalize_tag(tag): tag for tag in text.split(",")}  # as the store normalises them, and as typed
    wanted.pop("", None)
    try:
        current = set(store.image(file_id).tags)
        added = [wanted[tag] for tag in sorted(wanted.keys() - current)]  # as typed: one too long is refused, not cut
        saved = store.edit_tags(file_id, add=added, remove=sorted(current - wanted.keys()))
        st.session_state[f"tags-{file_id}-text"] = ", ".join(saved.tags)
        _notice(file_id, "tags", "Tags saved. Re-indexing will keep them.", ok=True)
    except CaptionaryError as error:
        _notice(file_id, "tags", str(error), ok=False)


def edit_caption_ui(store: Store, image: ImageRecord) -> None:
    _field(f"caption-{image.id}", image.caption)
    with st.form(f"edit-{image.id}"):
        st.text_area("Caption", key=f"caption-{image.id}")
        st.form_submit_button("Save caption", on_click=_save_caption, args=(store, image.id))
    _show_notice(image.id, "caption")
    if image.edited:
        st.button(
            "Revert caption",
            key=f"revert-{image.id}",
            help="Go back to the caption the model wrote",
            on_click=_revert_caption,
            args=(store, image.id),
        )


def edit_tags_ui(store: Store, image: ImageRecord) -> None:
    _field(f"tags-{image.id}-text", ", ".join(image.tags))
    with st.form(f"tags-{image.id}"):
        st.text_input("Tags (comma-separated)", key=f"tags-{image.id}-text")
        st.form_submit_button("Save tags", on_click=_save_tags, args=(store, image.id))
    _show_notice(image.id, "tags")


def detail_ui(store: Store, file_id: int) -> None:
    from indexer.imaging import ImageReadError, check_indexed_file
    from indexer.thumbnails import display_image

    try:
        image = store.image(file_id)
    except NotIndexedError:
        st.warning("That photo is no longer in the index.")
        st.button("← Back to results", key="detail-back", on_click=select_image, args=(None,))
        return
    neighbours_ui(file_id)
    # Keyed for the page's CSS: the details go under the photo when the view is narrow.
    with st.container(key="photo-view"):
        picture, details = st.columns([3, 2])
    with picture:
        try:
            changed = check_indexed_file(image.path, image.size)
            shown = display_image(image.path)
            # Scale down to the column, never blow a small picture up.
            st.image(shown, width="stretch" if shown.width >= 700 else shown.width)
            if changed:
                st.info(
                    "This file has changed since it was indexed: its caption and details describe it as it was. "
                    "Run captionary index to read it again."
                )
        except (ImageReadError, OSError) as error:
            st.warning(f"Cannot show the photo: {error}")
        # The full path, with a copy button, under the photo where the line is longest: on one line (scrolled
        # when longer), as Chromium would wrap it inside a name, and break points would be copied with it.
        st.code(display_text(image.path), language=None)
    with details:
        st.subheader(escape_markdown(image.title or image.name), anchor=False)
        opening = first_sentence(image.caption)
        st.markdown(escape_markdown(opening))
        if len(opening) < len(image.caption.strip()):
            with st.expander("Full caption"):
                st.markdown(escape_markdown(image.caption))
        if image.description:  # the file's own description (IPTC/XMP): what the person wrote, apart from the caption
            st.markdown(f"> {escape_markdown(image.description)}")
        metadata_ui(image)
        if image.text:
            text_ui(image.text)
        edit_caption_ui(store, image)
        edit_tags_ui(store, image)
    looks_like_ui(store, image)


def looks_like_ui(store: Store, image: ImageRecord) -> None:
    """More like this: the photos whose pixels are closest to this one's, when the library has image vectors."""

    vector = store.stored_vector(image.path) if store.embedders.has_image_embeddings() else None
    found = store.similar_to(vector, limit=10, exclude=image.path) if vector is not None else []
    if found:
        st.markdown("**More like this**")
        grid_ui(store, [SearchHit(record, score, "similar") for record, score in found], set())
