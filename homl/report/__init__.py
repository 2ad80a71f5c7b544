"""Reports a person reads: data exploration and model results as self-contained HTML."""

from homl.report._html import Report, Section

__all__ = ["Report", "Section"]
