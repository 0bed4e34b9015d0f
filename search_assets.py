"""The search app's page assets: its CSS, its click and keyboard behaviour, the search help, and how text
from files and people is written into the page (always escaped: it shows as text, never as markup)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path, PurePath

from db.store import display_text, highlight, visible_direction_controls
from db.types import ImageRecord, SearchPage

_MARKDOWN_SPECIAL = re.compile(r"[!-/:-@\[-`{-~]")
# Streamlit's Markdown (GFM) turns web and e-mail addresses in plain text into links after escapes are read,
# by matching `http://`, `https://`, `www.` and `name@host`. An invisible word joiner after `:` and `@` and
# inside `www.` breaks each pattern; the text reads the same.
_AUTOLINK_TRIGGER = re.compile(r"(?<=[:@])|(?<=www)(?=\.)", re.IGNORECASE)
WORD_JOINER = "\u2060"

PAGE_CSS = """
[data-testid="stMainBlockContainer"] { padding-top: 1.5rem; }
/* With the sidebar closed, its open button sits in the page's top bar: the title starts below it. */
[data-testid="stAppViewContainer"]:has([data-testid="stSidebar"][data-collapsed="true"])
  [data-testid="stMainBlockContainer"] { padding-top: 4rem; }
[class*="st-key-grid-"] [data-testid="stHorizontalBlock"] {
  display: grid !important; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 1rem;
}
[class*="st-key-grid-"] [data-testid="stColumn"] { width: auto !important; min-width: 0 !important; }
[class*="st-key-grid-"] img { aspect-ratio: 1 / 1; object-fit: cover; cursor: pointer; border-radius: 0.4rem; }
/* A tile's file name, and a namesake's folder, each at most two lines ending in an ellipsis: a 220-character
   scan name made its tile twice as tall. The whole name is in the photo view. */
[class*="st-key-grid-"] [data-testid="stCaptionContainer"] p {
  overflow-wrap: break-word; margin: 0;
  display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 2; line-clamp: 2; overflow: hidden;
}
/* The photo view: the details beside the photo, under it when the view is narrow (a laptop in split view). */
.st-key-photo-view { container-type: inline-size; }
@container (max-width: 860px) {
  .st-key-photo-view [data-testid="stHorizontalBlock"] { flex-direction: column; }
  .st-key-photo-view [data-testid="stColumn"] { width: 100% !important; flex: 1 1 100% !important; }
}
/* A portrait photo fits the window under the search box and the Previous/Next row (about 21rem) as a landscape
   one fits the column's width: a phone's 3:4 photo at 800 px was 1.7 windows tall, its details under it. Never
   smaller than 20rem on a short window, never blown up past its own size. */
.st-key-photo-view [data-testid="stImage"] img {
  max-height: max(20rem, calc(100vh - 22rem)); width: auto !important; max-width: 100%; object-fit: contain;
}
/* The photo's fullscreen button sits inside the photo's corner, not over the Previous/Next row above it. */
.st-key-photo-view [data-testid="stElementToolbar"] { top: 0.25rem !important; right: 0.25rem !important; }
"""
# Trusted page behaviour (no user data in it): a click on a thumbnail presses its tile's Open button;
# in the photo view the arrow keys press Previous/Next and Escape presses Back, unless a text field has
# the focus. Installed once per page; it looks the buttons up at the moment of the click or key.
BEHAVIOUR_JS = """
export default function () {
  if (window.__captionaryBehaviour) { return; }
  window.__captionaryBehaviour = true;
  const press = (selector) => {
    const button = document.querySelector(selector + " button");
    if (button && !button.disabled) { button.click(); return true; }
    return false;
  };
  document.addEventListener("click", (event) => {
    const image = event.target.closest && event.target.closest('[class*="st-key-grid-"] img');
    const tile = image && image.closest('[data-testid="stColumn"]');
    const open = tile && tile.querySelector('[class*="st-key-open-"] button');
    if (open) { open.click(); }
  });
  // Below 1000 px the filters would take a third of the window: the sidebar starts closed (its arrow opens it).
  if (window.innerWidth < 1000) {
    let tries = 0;
    const collapse = () => {
      const close = window.parent.document.querySelector('[data-testid="stSidebarCollapseButton"] button');
      const open = window.parent.document.querySelector('[data-testid="stSidebar"][data-collapsed="false"]');
      if (close && open) { close.click(); } else if (!open && tries++ < 50) { setTimeout(collapse, 100); }
    };
    collapse();
  }
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))) { return; }
    const keys = {ArrowLeft: ".st-key-detail-prev", ArrowRight: ".st-key-detail-next", Escape: ".st-key-detail-back"};
    if (keys[event.key] && press(keys[event.key])) { event.preventDefault(); }
  });
}
"""
QUERY_HELP = """
Photos whose words match come first: `red car` finds photos with both words (in the caption, the folder
and file name, the place, the text in the photo, or the title, description and keywords the file itself
carries), those that say "red car" side by side first. After them, under **Related**, photos that match
by meaning only (`puppy` finds dogs); a query with operators, quotes or fields shows matches only.

- `red car`: both words
- `"red car"`: the exact phrase
- `car OR bike`, `beach NOT dog`, `(sea OR lake) boat`
- `sun*`: words starting with *sun*
- `tag:dog` photos tagged *dog*; `caption:dog` only the caption, `file:2019` only folder/file names, `ext:png`,
  `camera:pixel` the camera's make or model, `place:kyoto` where it was taken (plain `kyoto` works too),
  `description:birthday` the file's own title and description, `text:receipt` text read in the photo
- `grandma 2019`, `sydney in july`, `beach last summer`, `paris 2018 to 2019`, `iphone 2019`, `4 stars`: a
  year, month, season or range, a place the library holds, a person's keyword, a camera's name and a rating
  are read as such (shown above the results; remove one to search its words as typed); `"2019"` in quotes is
  the word
- `beach without dogs`, `street with no cars`: no photo shown holds those words
- `date:2019`, `date:2019-07`, `date:2019-06..2019-08`, `date:2019..` (from then on): taken then (else the
  file's date); `-date:2019` not then
- empty: browse everything (newest first), with the filters on the left
"""


MODE_HELP = (
    "hybrid: photos whose words match, then photos related by meaning or by what is in the pixels (puppy finds "
    "dogs); keyword: the words as typed; semantic: ranked by caption meaning alone; visual: by the pixels alone"
)


def escape_markdown(text: str) -> str:
    """Text from a file or a person, shown as text: every ASCII punctuation mark escaped (CommonMark allows
    it for all of them), so no link, image, HTML or Streamlit directive can form, and web addresses broken
    by a word joiner so that none becomes a link either. A byte of a name that is not UTF-8 shows as U+FFFD."""
    text = visible_direction_controls(display_text(text).replace("\n", " "))
    return _MARKDOWN_SPECIAL.sub(r"\\\g<0>", _AUTOLINK_TRIGGER.sub(WORD_JOINER, text))


def highlighted_markdown(text: str, terms: set[str]) -> str:
    return "".join(
        f"**{escape_markdown(piece)}**" if matched else escape_markdown(piece) for piece, matched in highlight(text, terms)
    )


def breakable(name: str) -> str:
    """A long file or folder name may wrap after _ - . / (IMG_20190801_1234.jpg), not in the middle of a number."""
    return re.sub(r"([_\-./])", "\\1\u200b", name)


def result_count(page: SearchPage) -> str:
    """ "12 photos · 9 related": the matches, then the photos related by meaning only ("9 related photos"
    when no word matched)."""

    def photos(count: int) -> str:
        return "photo" if count == 1 else "photos"

    if page.related and not page.matches:
        parts = [f"{page.related} related {photos(page.related)}"]
    else:
        parts = [f"{page.matches} {photos(page.matches)}"] + ([f"{page.related} related"] if page.related else [])
    parts.append(f"{page.seconds * 1000:.0f} ms")
    return " · ".join(parts)


def model_name(source: str) -> str:
    """A caption source as people know it (`vit-gpt2-image-captioning`, not the folder it was loaded from),
    with the prompt, length and speed it was asked for when those were not the model's defaults."""
    from indexer.models.families import CaptionSettings

    wanted = CaptionSettings.from_key(source)
    name = Path(wanted.model_id.rstrip("/")).name or wanted.model_id
    asked = [
        f"prompt “{wanted.prompt}”" if wanted.prompt else "",
        f"{wanted.max_new_tokens} tokens" if wanted.max_new_tokens else "",
        "fast" if wanted.speed == "fast" else "",
    ]
    return f"{name} ({', '.join(part for part in asked if part)})" if any(asked) else name


def folder_label(roots: list[str]):
    """Show folders as `root-name/sub/folder` rather than long absolute paths."""

    def label(folder: str) -> str:
        for root in sorted(roots, key=len, reverse=True):
            if folder == root or folder.startswith(root.rstrip("/") + "/"):
                return display_text(Path(root).name + folder[len(root) :])
        return display_text(folder)  # a name that is not UTF-8 shows U+FFFD (db/columns.py)

    return label


def short_path(image: ImageRecord) -> str:
    """The path under its root, `root-name/sub/IMG_1.jpg`: the full path is in the copy box under the photo."""
    return folder_label([image.root])(image.path)


def distinguishing_folders(paths: list[str]) -> dict[str, str]:
    """For files that share a name, the shortest end of each one's folder that none of the others ends with
    (`2019/city trip` and `2022/city trip` for two `city trip/IMG_0001.jpg`); files named once get none."""
    folders: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for path in paths:
        folders[PurePath(path).name].append(PurePath(path).parent.parts)
    hints = {}
    for path in paths:
        mine = PurePath(path).parent.parts
        others = [parts for parts in folders[PurePath(path).name] if parts != mine]
        if not others:
            continue
        depth = next(
            (depth for depth in range(1, len(mine)) if all(parts[-depth:] != mine[-depth:] for parts in others)), len(mine)
        )
        hints[path] = str(PurePath(*mine[-depth:])) if depth == len(mine) else "…/" + "/".join(mine[-depth:])
    return hints
