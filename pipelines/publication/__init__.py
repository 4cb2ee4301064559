"""Publication: disclosure-controlled extracts, the report, and immutable releases."""
