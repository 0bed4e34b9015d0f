"""Queries about nothing a photo caption would say: semantic search must show nothing for them."""

OFF_TOPIC = [
    "quantum chromodynamics",
    "tax return spreadsheet",
    "asdfgh qwerty",
    "javascript compiler error",
    "mortgage interest rates",
    "the french revolution",
    "protein folding",
    "blockchain",
    "xyzzy",
    "stock market crash",
]
