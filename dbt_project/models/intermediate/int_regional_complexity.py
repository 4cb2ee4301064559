"""Regional specialisation and complexity (metrics.md section 3), per year.

A Python model because the method needs an eigenvector; the computation itself is
pipelines/transformation/complexity.py, the same code tests/test_complexity.py checks against the Stata
reference values (locations = regions, products = OKPD2 codes, values = yearly output).
"""

from pipelines.transformation.complexity import economic_complexity


def model(dbt, session):
    dbt.config(materialized="table")
    # Output stays DECIMAL: exact sums make the result identical on every build.
    outputs = dbt.ref("int_region_product_yearly_output").pl().select("year", "region_code", "okpd2", "output_value")
    complexity = economic_complexity(
        outputs, location="region_code", product="okpd2", value="output_value", period="year"
    )
    return complexity.to_arrow()
