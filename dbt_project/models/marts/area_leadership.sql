-- Technical leadership per priority area and year (metrics.md section 2), computed in
-- int_area_leadership.
select
    project_code,
    year,
    quarters_reported,
    products_leader,
    products_comparable,
    products_lagging,
    products_not_assessed,
    products_assessed,
    assessed_output_value,
    leader_output_value,
    leadership_share
from {{ ref('int_area_leadership') }}
