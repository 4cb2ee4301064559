-- Import independence per product and year (metrics.md section 1): flows are the sums of the
-- year's quarters (NULL when a reported quarter lacks them), ratios the ratios of those sums.
with flows as (
    select * from {{ ref('int_product_year_flows') }}
),

metrics as (
    {{ independence_metrics('flows') }}
)

select
    cast(year as integer) as year,
    cast(quarters_reported as integer) as quarters_reported,
    cast(okpd2 as {{ dbt.type_string() }}) as okpd2,
    cast(project_code as {{ dbt.type_string() }}) as project_code,
    {{ independence_columns() }},
    cast({{ strategic_dependency('import_dependency', 'import_hhi') }} as boolean) as strategic_dependency
from metrics
