-- Regional specialisation and complexity per region, product and year (metrics.md section 3),
-- with the product's priority area and how many quarters of the year had producer reports. The
-- complexity itself is computed in Python outside dbt (pipelines/transformation/computed.py) and
-- read as the source computed.regional_complexity.
select
    complexity.year,
    outputs.quarters_reported,
    complexity.region_code,
    complexity.okpd2,
    outputs.project_code,
    outputs.output_value,
    complexity.rca,
    cast(complexity.presence as integer) as presence,
    cast(complexity.diversity as integer) as diversity,
    cast(complexity.ubiquity as integer) as ubiquity,
    complexity.eci,
    complexity.pci
from {{ source('computed', 'regional_complexity') }} as complexity
inner join {{ ref('int_region_product_yearly_output') }} as outputs
    on
        complexity.year = outputs.year
        and complexity.region_code = outputs.region_code
        and complexity.okpd2 = outputs.okpd2
