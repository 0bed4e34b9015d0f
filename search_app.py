"""Streamlit app: search photos by caption, look at them, fix captions, caption an upload."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import streamlit as st

from db.errors import CaptionaryError, NotIndexedError, QueryError
from db.fulltext import Filters
from db.meaning import RELATED
from db.reads import ImageRecord
from db.schema import thumbnail_path
from db.search import SearchHit, SearchPage
from db.semantic import has_image_embeddings
from db.store import Store
from db.tags import normalize_tag
from indexer.settings import Settings
from search_assets import (
    BEHAVIOUR_JS,
    MODE_HELP,
    PAGE_CSS,
    QUERY_HELP,
    breakable,
    escape_markdown,
    folder_label,
    highlighted_markdown,
    model_name,
    result_count,
    short_path,
)

PAGE_SIZE = 50
VIEWS = ["Search", "Caption a photo"]
# The search page's widgets: kept while the Caption view is shown (Streamlit drops the state of widgets
# a run does not draw, and the query, the filters and the open photo should be there on the way back).
SEARCH_STATE = ("query", "mode", "folder", "use_dates", "dates", "exts", "sort", "browse-sort", "tags", "selected", "page")
TOP_TAGS = 30
SORTS = {"Relevance": "relevance", "Newest first": "date", "Oldest first": "date_asc"}


@st.cache_resource(show_spinner=False)
def _behaviour():
    import streamlit.components.v2 as components

    return components.component("captionary_behaviour", js=BEHAVIOUR_JS, isolate_styles=False)


def settings() -> Settings:
    """From what `captionary app` passed in the environment (resolving is a few dictionary lookups)."""
    return Settings.resolve()


@st.cache_resource(show_spinner=False)
def open_store(path: str) -> Store:
    from indexer.pipeline import enable_embeddings, enable_image_search

    store = Store.open_existing(path)
    # The caption vectors load once per server, on the first semantic query; queries are embedded in
    # numpy (no torch) when the embedder is a BERT sentence model like the default.
    enable_embeddings(store, settings().embedder, queries=True)
    enable_image_search(store, settings().image_embedder, settings().image_embedder_named)
    return store


@st.cache_resource(show_spinner="Loading the captioning model…")
def load_captioner(model_id: str):
    from indexer.caption import Captioner

    return Captioner(model_id, settings=settings())


def select_image(file_id: int | None) -> None:
    st.session_state["selected"] = file_id


# -- search page ---------------------------------------------------------------------------------


def filters_ui(store: Store, query: str) -> tuple[Filters, str]:
    facets = store.facets(TOP_TAGS)
    with st.sidebar:
        with st.popover("How to search", width="stretch"):
            st.markdown(QUERY_HELP)
        st.header("Filters")
        folder = st.selectbox("Folder", ["All folders", *facets.folders], key="folder", format_func=folder_label(facets.roots))
        use_dates = st.checkbox("Limit to dates", key="use_dates")
        date_from = date_to = None
        if use_dates:
            chosen = st.date_input("Taken between", value=(date(2000, 1, 1), date.today()), key="dates")
            if isinstance(chosen, (tuple, list)) and len(chosen) == 2:
                date_from, date_to = chosen
        exts = st.multiselect("File type", facets.extensions, key="exts")
        # Browsing (no query) is by date: "Relevance" would name an order that is not used.
        orders = list(SORTS) if query.strip() else [name for name in SORTS if SORTS[name] != "relevance"]
        sort = st.radio("Sort", orders, key="sort" if query.strip() else "browse-sort")
        counts = dict(facets.tags)
        chosen_tags = (
            st.pills(
                "Tags",
                list(counts),
                selection_mode="multi",
                key="tags",
                format_func=lambda tag: f"{escape_markdown(tag)} ({counts.get(tag, 0)})",
            )
            or []
        )
    filters = Filters(
        folder=None if folder == "All folders" else folder,
        exts=tuple(exts),
        tags=tuple(chosen_tags),
        date_from=date_from,
        date_to=date_to,
    )
    return filters, SORTS[sort]


def results_ui(store: Store, page: SearchPage) -> None:
    matches = [hit for hit in page.hits if hit.match != RELATED]
    related = [hit for hit in page.hits if hit.match == RELATED]
    grid_ui(store, matches, page.terms)
    if related:
        st.subheader("Related", help="No word of the query matches these photos; their captions mean something close.")
        grid_ui(store, related, page.terms)


def grid_ui(store: Store, hits: list[SearchHit], terms: set[str]) -> None:
    if not hits:
        return
    # One row of columns that the page's CSS lays out as a grid: as many columns as fit the window
    # (5 at 1400 px, 2 at 800 px), every tile square.
    with st.container(key=f"grid-{hits[0].match}"):
        for column, hit in zip(st.columns(len(hits)), hits):
            with column:
                thumbnail_ui(store, hit.image)
                st.markdown(highlighted_markdown(hit.image.caption, terms))
                st.caption(breakable(escape_markdown(hit.image.name)))
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


def pager_ui(total: int) -> None:
    pages = max(1, -(-total // PAGE_SIZE))
    if pages == 1:
        return
    current = st.session_state.get("page", 0)
    previous_column, label_column, next_column = st.columns([1, 2, 1])
    previous_column.button(
        "← Previous", key="page-prev", disabled=current == 0, on_click=lambda: st.session_state.update(page=current - 1)
    )
    label_column.markdown(f"Page {current + 1} of {pages}")
    next_column.button(
        "Next →", key="page-next", disabled=current + 1 >= pages, on_click=lambda: st.session_state.update(page=current + 1)
    )


def query_ui(store: Store) -> tuple[str, str]:
    # Typing a new query from the detail view goes back to the results.
    query = st.text_input(
        "Search your photos", key="query", placeholder="a dog on the beach", on_change=select_image, args=(None,)
    )
    mode = "keyword"  # without caption embeddings there is nothing else to offer
    if store.has_embeddings():
        modes = ["hybrid", "keyword", "semantic"] + (["visual"] if has_image_embeddings(store) else [])
        mode = st.segmented_control("Match", modes, default="hybrid", key="mode", help=MODE_HELP) or "hybrid"
    return query, mode


def search_ui(store: Store, query: str, mode: str, filters: Filters, sort: str) -> None:
    # A new query or filter starts again at the first page.
    signature = (query, mode, filters, sort)
    if st.session_state.get("signature") != signature:
        st.session_state["signature"] = signature
        st.session_state["page"] = 0
    page_number = st.session_state.get("page", 0)
    try:
        page = store.search(query, filters, sort, offset=page_number * PAGE_SIZE, limit=PAGE_SIZE, mode=mode)
    except QueryError as error:
        st.warning(f"Can't search for that: {error}")
        return
    except CaptionaryError as error:  # e.g. the embedding model cannot be loaded
        st.error(str(error))
        return
    st.session_state["result_ids"] = [hit.image.id for hit in page.hits]
    st.caption(result_count(page))
    if not page.hits:
        st.info("No photos match. Try fewer words, a prefix like `sun*`, or other filters.")
        return
    results_ui(store, page)
    pager_ui(page.total)


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


def metadata_ui(image: ImageRecord) -> None:
    rows = {
        "Taken": image.taken_at.strftime("%Y-%m-%d %H:%M") if image.taken_at else f"unknown (file date {image.mtime:%Y-%m-%d})",
        "Dimensions": f"{image.width} × {image.height}",
        "Size": f"{image.size / 1_000_000:.1f} MB" if image.size >= 100_000 else f"{image.size / 1000:.0f} kB",
        "Format": image.format,
        "Camera": image.camera or "unknown",
        "Place": image.place,  # most photos carry no position: then the row is left out
        "Caption by": "a person (edited)" if image.edited else model_name(image.model),
        "Tags": ", ".join(image.tags) or "none",
        "Folder": short_path(image).rsplit("/", 1)[0],
    }
    # Every value comes from a file or a person: escaped, so it shows as text (no link, no remote image).
    st.markdown("\n".join(f"- **{label}:** {escape_markdown(value)}" for label, value in rows.items() if value))
    st.code(image.path, language=None, wrap_lines=True)  # the full path, with a copy button


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
    if image.edited and st.button("Revert to the model's caption", key=f"revert-{image.id}"):
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
        st.subheader(escape_markdown(image.name))
        st.markdown(escape_markdown(image.caption))
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


# -- caption an image ----------------------------------------------------------------------------


def caption_model(store: Store | None) -> str:
    """The model named for the app (`captionary app --model`, $CAPTIONARY_MODEL), else the one that wrote
    most of this library's captions, else the default: a caption here reads like the library's."""
    if settings().model_named or store is None:
        return settings().model
    used = store.models()
    return used[0] if used else settings().model


def caption_ui(store: Store | None) -> None:
    from indexer.crawl import IMAGE_EXTENSIONS
    from indexer.sources import caption_sources

    st.write("Get a caption for any photo; nothing is stored.")
    uploaded = st.file_uploader("Photo", type=sorted(IMAGE_EXTENSIONS), key="upload")
    url = st.text_input("…or an image URL", key="caption-url", placeholder="https://…")
    if not st.button("Caption it", key="caption-go"):
        return
    if uploaded is None and not url.strip():
        st.warning("Upload a photo or paste a URL first.")
        return
    source: str | bytes = uploaded.getvalue() if uploaded is not None else url.strip()
    try:
        result = caption_sources([source], load_captioner(caption_model(store)), names=["upload"], keep_pictures=True)[0]
    except CaptionaryError as error:
        st.error(f"{error}. To use another model here, start the app with: captionary app --model PATH")
        return
    if result.error is not None or result.picture is None:
        st.error(f"Cannot read that image: {result.error}")
        return
    st.image(result.picture, width=320)
    st.success(escape_markdown(result.caption or ""))


# -- page ----------------------------------------------------------------------------------------


def empty_state_ui(path: Path) -> None:
    st.info("There is no photo index here yet. Build one with:")
    st.code(f"captionary index ~/Pictures --data-dir {path}", language="bash")


def main() -> None:
    st.set_page_config(page_title="captionary", page_icon="🖼️", layout="wide")
    st.html(f"<style>{PAGE_CSS}</style>")
    st.markdown("### captionary")
    path = settings().data_dir
    try:
        store = open_store(str(path))
    except NotIndexedError:
        store = None
    except CaptionaryError as error:
        st.error(str(error))
        return
    _behaviour()(key="behaviour")  # thumbnail clicks and the photo view's keys
    for key in SEARCH_STATE:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]  # re-assigned, a widget's value outlives the widget
    view = st.segmented_control("View", VIEWS, default=VIEWS[0], key="view", label_visibility="collapsed")
    if view == "Caption a photo":
        caption_ui(store)  # no sidebar here: its filters are for searching
    elif store is None:
        empty_state_ui(path)
    else:
        # The search box and filters stay on the page in the detail view too, so their state
        # (which Streamlit drops for widgets that are not drawn) survives a visit to a photo.
        query, mode = query_ui(store)
        filters, sort = filters_ui(store, query)
        if st.session_state.get("selected") is not None:
            detail_ui(store, st.session_state["selected"])
        else:
            search_ui(store, query, mode, filters, sort)


if __name__ == "__main__":
    main()
