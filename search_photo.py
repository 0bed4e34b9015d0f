"""The app's photos on screen: the grid of results and the view of one photo (its metadata, its caption and
tags to edit, the photos that look like it). search_app.py lays out the page around them."""

from __future__ import annotations

import os

import streamlit as st

from db.errors import CaptionaryError, NotIndexedError
from db.query import words_analyzer
from db.reads import ImageRecord
from db.schema import thumbnail_path
from db.search import SearchHit
from db.semantic import has_image_embeddings
from db.store import Store
from db.tags import normalize_tag
from indexer.caption_text import first_sentence
from search_assets import breakable, escape_markdown, highlighted_markdown, model_name, short_path


def select_image(file_id: int | None) -> None:
    st.session_state["selected"] = file_id


# -- results grid ------------------------------------------------------------------------------


def grid_ui(store: Store, hits: list[SearchHit], terms: set[str]) -> None:
    if not hits:
        return
    # One row of columns that the page's CSS lays out as a grid: as many columns as fit the window
    # (5 at 1400 px, 2 at 800 px), every tile square.
    with st.container(key=f"grid-{hits[0].match}"):
        for column, hit in zip(st.columns(len(hits)), hits):
            with column:
                thumbnail_ui(store, hit.image)
                # A paragraph from a vision-language model would make every tile a column of text.
                shown = first_sentence(hit.image.caption)
                more = " …" if len(shown) < len(hit.image.caption.strip()) else ""
                st.markdown(highlighted_markdown(shown, terms) + more)
                pair = f" · RAW+JPEG with {os.path.basename(hit.image.pair)}" if hit.image.pair else ""
                st.caption(breakable(escape_markdown(hit.image.name + pair)))
                st.button("Open", key=f"open-{hit.image.id}", on_click=select_image, args=(hit.image.id,))


def thumbnail_ui(store: Store, image: ImageRecord) -> None:
    from indexer.imaging import ImageReadError, check_indexed_file, ensure_thumbnail

    try:
        # Only paths from the DB, looked up by id, are ever read: no widget can name a file.
        cached = thumbnail_path(store.thumbnail_dir, image.content_hash)
        if not cached.exists():
            check_indexed_file(image.path, image.size)
        thumbnail = ensure_thumbnail(cached, image.path)
        st.image(str(thumbnail), width="stretch")
    except (ImageReadError, OSError):
        st.caption("(photo unavailable)")


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
        "Camera": image.camera or "unknown",
        "Place": image.place,  # most photos carry no position: then the row is left out
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
    st.markdown("\n".join(f"- **{label}:** {escape_markdown(value)}" for label, value in rows.items() if value))
    st.code(image.path, language=None, wrap_lines=True)  # the full path, with a copy button
    if image.pair_id is not None:
        label = f"Open {os.path.basename(image.pair or '')}"
        st.button(label, key=f"pair-{image.id}", on_click=select_image, args=(image.pair_id,))


def edit_caption_ui(store: Store, image: ImageRecord) -> None:
    with st.form(f"edit-{image.id}"):
        text = st.text_area("Caption", value=image.caption, key=f"caption-{image.id}")
        saved = st.form_submit_button("Save caption")
    if saved:
        try:
            store.set_caption(image.id, text)
            st.success("Saved. Re-indexing will keep your caption.")
        except CaptionaryError as error:
            st.error(str(error))
    # A short label: at 800 px this column is 180 px wide, and "Revert to the model's caption" was cut off.
    if image.edited and st.button("Revert caption", key=f"revert-{image.id}", help="Go back to the caption the model wrote"):
        store.set_caption(image.id, None)
        st.rerun()


def edit_tags_ui(store: Store, image: ImageRecord) -> None:
    with st.form(f"tags-{image.id}"):
        text = st.text_input("Tags (comma-separated)", value=", ".join(image.tags), key=f"tags-{image.id}-text")
        saved = st.form_submit_button("Save tags")
    if saved:
        wanted = {normalize_tag(tag) for tag in text.split(",")} - {""}  # as the store normalises them
        current = set(image.tags)
        try:
            store.edit_tags(image.id, add=sorted(wanted - current), remove=sorted(current - wanted))
            st.success("Tags saved. Re-indexing will keep them.")
        except CaptionaryError as error:
            st.error(str(error))


def detail_ui(store: Store, file_id: int) -> None:
    from indexer.imaging import ImageReadError, check_indexed_file, display_image

    try:
        image = store.image(file_id)
    except NotIndexedError:
        st.warning("That photo is no longer in the index.")
        st.button("← Back to results", key="detail-back", on_click=select_image, args=(None,))
        return
    neighbours_ui(file_id)
    picture, details = st.columns([3, 2])
    with picture:
        try:
            check_indexed_file(image.path, image.size)
            shown = display_image(image.path)
            # Scale down to the column, never blow a small picture up.
            st.image(shown, width="stretch" if shown.width >= 700 else shown.width)
        except (ImageReadError, OSError) as error:
            st.warning(f"Cannot show the photo: {error}")
    with details:
        st.subheader(escape_markdown(image.title or image.name))
        opening = first_sentence(image.caption)
        st.markdown(escape_markdown(opening))
        if len(opening) < len(image.caption.strip()):
            with st.expander("Full caption"):
                st.markdown(escape_markdown(image.caption))
        if image.description:  # the file's own description (IPTC/XMP): what the person wrote, apart from the caption
            st.markdown(f"> {escape_markdown(image.description)}")
        if image.text:  # read in the pixels (OCR); the words of the search are in bold
            terms = {token.text for token in words_analyzer()(st.session_state.get("query") or "")}
            lines = [highlighted_markdown(line, terms) for line in image.text.splitlines()]
            st.markdown("**Text in the photo:**  \n" + "  \n".join(lines))
        metadata_ui(image)
        edit_caption_ui(store, image)
        edit_tags_ui(store, image)
    looks_like_ui(store, image)


def looks_like_ui(store: Store, image: ImageRecord) -> None:
    """More like this: the photos whose pixels are closest to this one's, when the library has image vectors."""
    from db.looks import similar_to, stored_vector

    vector = stored_vector(store, image.path) if has_image_embeddings(store) else None
    found = similar_to(store, vector, limit=10, exclude=image.path) if vector is not None else []
    if found:
        st.markdown("**More like this**")
        grid_ui(store, [SearchHit(record, score, "similar") for record, score in found], set())
