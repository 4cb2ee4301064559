-- Technical leadership per product and year against the best foreign analogue (metrics.md
-- section 2), computed in int_product_leadership.
select
    year,
    quarters_reported,
    okpd2,
    project_code,
    output_value,
    benchmark_parameters,
    producers_reporting,
    producers_assessed,
    producers_incomplete,
    technical_level,
    technical_level_median,
    band
from {{ ref('int_product_leadership') }}
