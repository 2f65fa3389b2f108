"""printshop: dossiers, share cards and the book of The Corporate Bestiary."""

__version__ = "0.1.0"
