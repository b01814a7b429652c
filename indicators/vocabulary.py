"""The closed vocabularies now live in ``data.vocabulary`` (the store checks values against
them, and ``data/`` imports nothing from ``indicators/``). Kept as a re-export so that code
written against the old place keeps working; new code imports ``data.vocabulary``."""
from data.vocabulary import AREA_KINDS, CHART_TYPES, FAMILIES, OBS_STATUS, QUALIFIERS, UNITS, Term

__all__ = ["AREA_KINDS", "CHART_TYPES", "FAMILIES", "OBS_STATUS", "QUALIFIERS", "UNITS", "Term"]
