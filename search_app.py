"""Streamlit app: search photos by caption, look at them, fix captions, caption an upload."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import streamlit as st

from db.errors import CaptionaryError, NotIndexedError, QueryError
from db.store import Store, extensions_of
from db.types import RELATED, Filters, SearchPage
from indexer.settings import Settings
from search_assets import (
    BEHAVIOUR_JS,
    MODE_HELP,
    PAGE_CSS,
    QUERY_HELP,
    distinguishing_folders,
    escape_markdown,
    folder_label,
    result_count,
)
from search_photo import detail_ui, grid_ui, select_image

PAGE_SIZE = 50
VIEWS = ["Search", "Caption a photo"]
# The search page's widgets: kept while the Caption view is shown (Streamlit drops the state of widgets
# a run does not draw, and the query, the filters and the open photo should be there on the way back).
SEARCH_STATE = (
    "query",
    "mode",
    "folder",
    "use_dates",
    "dates",
    "exts",
    "places",
    "sort",
    "browse-sort",
    "tags",
    "selected",
    "page",
)
TOP_TAGS = 30
SORTS = {"Relevance": "relevance", "Newest first": "date", "Oldest first": "date_asc"}
STAR_CHOICES = {0: "Any rating", **{count: "★" * count + (" and up" if count < 5 else "") for count in range(1, 6)}}
# Streamlit's map draws its base layer from CARTO's tile servers: the browser asks them for the area shown.
MAP_NOTE = (
    "The base map is loaded from CARTO's servers (basemaps.cartocdn.com), which see the area shown; "
    "the photos' positions are drawn here. Offline, only the points show."
)


@st.cache_resource(show_spinner=False)
def _behaviour():
    import streamlit.components.v2 as components

    return components.component("captionary_behaviour", js=BEHAVIOUR_JS, isolate_styles=False)


def settings() -> Settings:
    """From what `captionary app` passed in the environment (resolving is a few dictionary lookups)."""
    return Settings.resolve()


@st.cache_resource(show_spinner=False)
def cached_store(path: str) -> Store:
    """The library at path, opened once per server (Streamlit keeps it) and able to answer semantic queries."""
    from indexer.models.search_encoders import enable_embeddings, enable_image_search

    store = Store.open_existing(path)
    # The caption vectors load once per server, on the first semantic query; queries are embedded in
    # numpy (no torch) when the embedder is a BERT sentence model like the default.
    enable_embeddings(store, settings().embedder, queries=True)
    enable_image_search(store, settings().image_embedder, settings().image_embedder_named)
    return store


@st.cache_resource(show_spinner="Loading the captioning model…")
def load_captioner(source: str):
    """The captioner for a caption source (indexer/models/families.py CaptionSettings.key): the library's prompt too."""
    from indexer.models.captioner import Captioner
    from indexer.models.families import CaptionSettings

    wanted = CaptionSettings.from_key(source)
    return Captioner(
        wanted.model_id, settings=settings(), prompt=wanted.prompt, max_new_tokens=wanted.max_new_tokens, speed=wanted.speed
    )


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
            # From the library's first day to its last (a scan from 1975, a file dated 2099): ticking the box
            # hides no photo until the range is narrowed, and any day a photo has can be picked.
            first, last = facets.days or (date.today(), date.today())
            # The default through the state, as for "mode" (query_ui), and within the library's days (photos gone)
            held = st.session_state.get("dates")
            if not (isinstance(held, (tuple, list)) and all(isinstance(day, date) and first <= day <= last for day in held)):
                st.session_state["dates"] = (first, last)
            chosen = st.date_input("Taken between", min_value=first, max_value=last, key="dates")
            if isinstance(chosen, (tuple, list)) and len(chosen) == 2:
                date_from, date_to = chosen
        chosen_formats = st.multiselect("File type", facets.formats, key="exts", placeholder="Any type")
        # Only where some photo carries stars (a rating from Lightroom, digiKam or the camera): else it filters nothing.
        stars = st.selectbox("Rating", STAR_CHOICES, key="stars", format_func=STAR_CHOICES.__getitem__) if facets.rated else 0
        place_counts = dict(facets.places)
        places = (
            st.multiselect(
                "Place",
                list(place_counts),
                key="places",
                placeholder="Anywhere",
                format_func=lambda name: f"{name} ({place_counts[name]})",
            )
            if place_counts
            else []
        )
        # Browsing (no query) is by date: "Relevance" would name an order that is not used.
        orders = list(SORTS) if query.strip() else [name for name in SORTS if SORTS[name] != "relevance"]
        sort = st.radio("Sort", orders, key="sort" if query.strip() else "browse-sort")
    filters = Filters(
        folder=None if folder == "All folders" else folder,
        exts=extensions_of(chosen_formats),
        # chosen below the other filters once the search has said which tags its photos carry (tags_ui)
        tags=tuple(st.session_state.get("tags") or ()),
        date_from=date_from,
        date_to=date_to,
        places=tuple(name for name in places if name in place_counts),
        stars=stars or None,
    )
    return filters, SORTS[sort]


def tags_ui(store: Store, counts: list[tuple[str, int]] | None) -> None:
    """The tags the photos found carry most, each with how many of them carry it (None: the library's), so
    choosing one narrows the search to the photos that carry it. Those chosen stay, carried most or not."""
    carried = dict(store.facets(TOP_TAGS).tags if counts is None else counts)
    chosen = [tag for tag in st.session_state.get("tags") or () if isinstance(tag, str)]
    with st.sidebar:
        st.pills(
            "Tags",
            list(dict.fromkeys([*chosen, *carried])),
            selection_mode="multi",
            key="tags",
            format_func=lambda tag: f"{escape_markdown(tag)} ({carried.get(tag, 0)})",
            help="The tags of the photos found, with how many of them carry each. Choose one to keep only those.",
        )


def results_ui(store: Store, page: SearchPage) -> None:
    matches = [hit for hit in page.hits if hit.match != RELATED]
    related = [hit for hit in page.hits if hit.match == RELATED]
    folders = distinguishing_folders([hit.image.path for hit in page.hits])  # over both grids: one may hold a namesake
    grid_ui(store, matches, page.terms, folders)
    if related:
        st.subheader("Related", help="No word of the query matches these photos; their captions mean something close.")
        grid_ui(store, related, page.terms, folders)


def pager_ui(total: int) -> None:
    pages = max(1, -(-total // PAGE_SIZE))
    if pages == 1:
        return
    current = st.session_state.get("page", 0)
    # One row spread across the grid's width: Previous at its left edge, Next at its right (in columns, each
    # button sat at the left of its column, Next a column's width short of the edge).
    with st.container(horizontal=True, horizontal_alignment="distribute", vertical_alignment="center"):
        st.button(
            "← Previous", key="page-prev", disabled=current == 0, on_click=lambda: st.session_state.update(page=current - 1)
        )
        st.markdown(f"Page {current + 1} of {pages}", width="content")
        st.button(
            "Next →", key="page-next", disabled=current + 1 >= pages, on_click=lambda: st.session_state.update(page=current + 1)
        )


def query_ui(store: Store) -> tuple[str, str]:
    # Typing a new query from the detail view goes back to the results.
    query = st.text_input(
        "Search your photos", key="query", placeholder="a dog on the beach", on_change=select_image, args=(None,)
    )
    mode = "auto"  # without caption embeddings: keyword search, with plain words read as times, places, people
    if store.has_embeddings():
        modes = ["hybrid", "keyword", "semantic"] + (["visual"] if store.embedders.has_image_embeddings() else [])
        # The default through the state, not `default=`: the state is re-assigned every run (SEARCH_STATE), and a
        # widget given both logs a warning with a stack on the server's stderr.
        st.session_state.setdefault("mode", "hybrid")
        mode = st.segmented_control("Match", modes, key="mode", help=MODE_HELP) or "hybrid"
    return query, mode


def take_literally(words: str) -> None:
    st.session_state["literal"] = [*st.session_state.get("literal", []), words]


def readings_ui(page: SearchPage) -> None:
    """How the query's plain words were read ("taken in 2019"), each a chip: removing it searches the words
    as typed."""
    readings = page.understood.readings
    if not readings:
        return
    with st.container(horizontal=True, gap="small"):
        for number, reading in enumerate(readings):
            st.button(
                f"{'or ' if reading.or_previous else ''}{escape_markdown(reading.shown)} ✕",
                key=f"reading-{number}-{reading.words}",  # "2019 or 2019": two readings of the same words
                help=f"Read from “{escape_markdown(reading.words)}”. Remove to search the words as typed.",
                on_click=take_literally,
                args=(reading.words,),
            )


def search_ui(store: Store, query: str, mode: str, filters: Filters, sort: str) -> None:
    if st.session_state.get("literal-query") != query:  # a removed reading is for the query it was read in
        st.session_state["literal-query"], st.session_state["literal"] = query, []
    literal = tuple(st.session_state.get("literal", []))
    # A new query or filter starts again at the first page.
    signature = (query, mode, filters, sort, literal)
    if st.session_state.get("signature") != signature:
        st.session_state["signature"] = signature
        st.session_state["page"] = 0
    page_number = st.session_state.get("page", 0)

    def page_at(number: int) -> SearchPage:
        offset = number * PAGE_SIZE
        return store.search(
            query, filters, sort, offset=offset, limit=PAGE_SIZE, mode=mode, literal=frozenset(literal), tags=TOP_TAGS
        )

    page: SearchPage | None = None
    try:
        found = page_at(page_number)
        if not found.hits and page_number and found.total:  # the library shrank under a later page: show its last
            page_number = st.session_state["page"] = (found.total - 1) // PAGE_SIZE
            found = page_at(page_number)
        page = found
    except QueryError as error:
        st.warning(f"Can't search for that: {error}")
    except CaptionaryError as error:  # e.g. the embedding model cannot be loaded
        st.error(str(error))
    # in the sidebar, drawn before the grid: the grid stays the run's last work
    tags_ui(store, None if page is None else page.tags)
    if page is None:
        return
    st.session_state["result_ids"] = [hit.image.id for hit in page.hits]
    st.session_state["result-tags"] = page.tags  # beside a photo opened from these results
    st.caption(result_count(page))
    readings_ui(page)
    if not page.hits:
        st.info("No photos match. Try fewer words, a prefix like `sun*`, or other filters.")
        return
    results_ui(store, page)
    pager_ui(page.total)
    map_ui(page)


def map_ui(page: SearchPage) -> None:
    """Where this page's photos were taken, for those with a GPS position."""
    placed = [hit.image for hit in page.hits if hit.image.latitude is not None and hit.image.longitude is not None]
    if placed:
        with st.expander(f"Map of {len(placed)} photo{'s' if len(placed) != 1 else ''} on this page with a position"):
            st.caption(MAP_NOTE)
            st.map({"lat": [image.latitude for image in placed], "lon": [image.longitude for image in placed]}, size=20)


# -- caption an image ----------------------------------------------------------------------------


def caption_model(store: Store | None) -> str:
    """The model named for the app (`captionary app --model`, $CAPTIONARY_MODEL), else the library's caption source
    (its last captioning run's model and settings), else the default: a caption here reads like the library's."""
    source = None if settings().model_named or store is None else store.caption_source()
    return source or settings().model


def caption_ui(store: Store | None) -> None:
    from db.store import INDEXED_EXTENSIONS
    from indexer.sources import caption_sources

    st.write("Get a caption for any photo; nothing is stored.")
    uploaded = st.file_uploader("Photo", type=sorted(INDEXED_EXTENSIONS), key="upload")
    url = st.text_input("…or an image URL", key="caption-url", placeholder="https://…")
    if not st.button("Caption it", key="caption-go"):
        return
    if uploaded is None and not url.strip():
        st.warning("Upload a photo or paste a URL first.")
        return
    source: str | bytes = uploaded.getvalue() if uploaded is not None else url.strip()
    try:
        # the upload's own name: a camera RAW is known by it (read by its preview)
        name = uploaded.name if uploaded is not None else "upload"
        result = caption_sources([source], load_captioner(caption_model(store)), names=[name], keep_pictures=True)[0]
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
        store = cached_store(str(path))
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
            tags_ui(store, st.session_state.get("result-tags"))
            detail_ui(store, st.session_state["selected"])
        else:
            search_ui(store, query, mode, filters, sort)


if __name__ == "__main__":
    main()
