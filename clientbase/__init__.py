"""clientbase: keep a B2B client base clean and worked."""

__version__ = "0.5.4"
