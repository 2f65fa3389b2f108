"""printshop: dossiers, share cards and the book of The Corporate Bestiary."""

__version__ = "0.1.0"

#: The PDF variants printshop writes (here, where the CLI reads them without
#: importing a renderer). Every one but "none" is tagged: a structure tree in
#: reading order, figures with alternate text. PDF/UA-1 comes first, the
#: default: accessible, with the XMP metadata that says so. "none" is
#: WeasyPrint's plain untagged output.
#: PDF/X-4 is left out: it needs a CMYK output profile (an ICC file) that no
#: bundled file provides, and WeasyPrint writes no output intent without one.
PDF_VARIANTS = ("pdf/ua-1", "pdf/ua-2", "pdf/a-2b", "pdf/a-3b", "pdf/a-3u", "none")
