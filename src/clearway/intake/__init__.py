"""Intake adapters: files and bodies in JSON, NDJSON or CSV become validated Consignment v1 outcomes."""

from clearway.intake.formats import FORMATS, detect_format, read_bytes, read_path
from clearway.intake.submitted import Submitted

__all__ = ["FORMATS", "Submitted", "detect_format", "read_bytes", "read_path"]
