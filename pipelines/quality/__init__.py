"""Data quality gates: Great Expectations suites run against the warehouse before anything is published."""
