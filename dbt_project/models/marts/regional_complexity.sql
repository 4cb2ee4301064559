-- Regional specialisation and complexity per region, product and year (metrics.md section 3),
-- with the product's priority area and how many quarters of the year had producer reports.
select
    cast(complexity.year as integer) as year,
    cast(outputs.quarters_reported as integer) as quarters_reported,
    cast(complexity.region_code as {{ dbt.type_string() }}) as region_code,
    cast(complexity.okpd2 as {{ dbt.type_string() }}) as okpd2,
    cast(outputs.project_code as {{ dbt.type_string() }}) as project_code,
    cast(outputs.output_value as decimal(18, 3)) as output_value,
    cast(complexity.rca as double) as rca,
    cast(complexity.presence as integer) as presence,
    cast(complexity.diversity as integer) as diversity,
    cast(complexity.ubiquity as integer) as ubiquity,
    cast(complexity.eci as double) as eci,
    cast(complexity.pci as double) as pci
from {{ ref('int_regional_complexity') }} as complexity
inner join {{ ref('int_region_product_yearly_output') }} as outputs
    on outputs.year = complexity.year
    and outputs.region_code = complexity.region_code
    and outputs.okpd2 = complexity.okpd2
