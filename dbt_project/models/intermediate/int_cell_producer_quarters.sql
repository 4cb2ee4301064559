{{ config(**incremental_config('period')) }}

-- Each enterprise's quarterly figures in every cell that reports on it: its product (level
-- 'product', code okpd2), the product's priority area (level 'area', code project_code) and the
-- area in the enterprise's region (level 'region', code region_code). An enterprise's rows are
-- summed within the cell (several regions for one product, several products for one area), the
-- grain producer_count and top_producer_output_value are taken at.
with periods_to_build as (
    {{ periods_to_build([[ref('int_producer_quarter_outputs'), 'last_load_id']], is_incremental()) }}
),

levels as (
    select 'product' as level
    union all
    select 'area' as level
    union all
    select 'region' as level
),

cell_rows as (
    select
        outputs.*,
        levels.level,
        case levels.level
            when 'product' then outputs.okpd2
            when 'area' then outputs.project_code
            else outputs.region_code
        end as code
    from {{ ref('int_producer_quarter_outputs') }} as outputs
    cross join levels
)

select
    cell_rows.level,
    cell_rows.code,
    cell_rows.project_code,
    cell_rows.period,
    cell_rows.year,
    cell_rows.quarter,
    cell_rows.inn,
    cast(sum(cell_rows.output_value) as decimal(18, 3)) as output_value,
    cast(sum(cell_rows.components_cost) as decimal(18, 3)) as components_cost,
    cast(sum(cell_rows.imported_components_cost) as decimal(18, 3)) as imported_components_cost,
    cast(sum(cell_rows.domestic_technology_output_value) as decimal(18, 3)) as domestic_technology_output_value,
    cast(sum(cell_rows.rnd_expenses) as decimal(18, 3)) as rnd_expenses,
    periods_to_build.last_load_id
from cell_rows
inner join periods_to_build
    on cell_rows.period = periods_to_build.period
group by
    cell_rows.level,
    cell_rows.code,
    cell_rows.project_code,
    cell_rows.period,
    cell_rows.year,
    cell_rows.quarter,
    cell_rows.inn,
    periods_to_build.last_load_id
