{{ config(**quarterly_incremental_config()) }}

-- Import independence per product and quarter (metrics.md section 1). Yearly rows:
-- product_independence_yearly.
with periods_to_build as (
    {{ periods_to_build([[ref('int_product_quarter_flows'), 'last_load_id']], is_incremental()) }}
),

flows as (
    select *
    from {{ ref('int_product_quarter_flows') }}
    where period in (select period from periods_to_build)
),

metrics as (
    {{ independence_metrics('flows') }}
)

select
    cast(metrics.period as {{ dbt.type_string() }}) as period,
    cast(metrics.year as integer) as year,
    cast(metrics.quarter as integer) as quarter,
    cast(metrics.okpd2 as {{ dbt.type_string() }}) as okpd2,
    cast(metrics.project_code as {{ dbt.type_string() }}) as project_code,
    {{ independence_columns() }},
    cast({{ strategic_dependency('import_dependency', 'import_hhi') }} as boolean) as strategic_dependency,
    cast(periods_to_build.last_load_id as bigint) as last_load_id
from metrics
inner join periods_to_build
    on periods_to_build.period = metrics.period
