"""Small objects that display well in a notebook and read well elsewhere."""

from __future__ import annotations

__all__ = ["Markdown"]


class Markdown:
    """Markdown text that displays as such in a notebook (and as itself elsewhere)."""

    def __init__(self, data: str):
        self.data = data

    def _repr_markdown_(self) -> str:
        return self.data

    def __repr__(self) -> str:
        return self.data
