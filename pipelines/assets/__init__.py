"""Dagster assets: raw ingestion (one per report kind) and the dbt models."""
