"""Canonical tables, loaders for CRM exports and SQL, and the embedded demo company."""

from simlib.data.io import (
    DataError,
    Dataset,
    Issue,
    ValidationReport,
    load_data,
    load_demo,
    load_source,
    validate_tables,
    write_tables,
)
from simlib.data.schema import STAGES, TABLES

__all__ = [
    "DataError",
    "Dataset",
    "Issue",
    "ValidationReport",
    "load_data",
    "load_demo",
    "load_source",
    "validate_tables",
    "write_tables",
    "STAGES",
    "TABLES",
]
