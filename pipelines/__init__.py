"""Technological-sovereignty warehouse: Dagster code, ingestion and command line."""
