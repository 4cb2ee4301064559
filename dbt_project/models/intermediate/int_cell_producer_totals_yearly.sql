{{ config(**incremental_config('year')) }}

-- Producer figures per cell (product, area, or area in a region; see int_cell_producer_quarters)
-- and year: an enterprise's quarters are summed first, so producer_count and
-- top_producer_output_value are taken on its yearly output. Only cells with producer rows appear.
-- Incremental by year: a run after one new quarter rebuilds only that quarter's year.
with years_to_build as (
    {{ periods_to_build([[ref('int_cell_producer_quarters'), 'last_load_id']], is_incremental(), grain='year') }}
),

-- The years are chosen by the inner join before the enterprises' quarters are summed: joined after
-- the sum, the yearly rebuild of one new quarter summed every year's 25 million rows first.
enterprises as (
    select
        quarters.level,
        quarters.code,
        quarters.project_code,
        quarters.year,
        quarters.inn,
        years_to_build.last_load_id,
        sum(quarters.output_value) as output_value,
        sum(quarters.components_cost) as components_cost,
        sum(quarters.imported_components_cost) as imported_components_cost,
        sum(quarters.domestic_technology_output_value) as domestic_technology_output_value,
        sum(quarters.rnd_expenses) as rnd_expenses
    from {{ ref('int_cell_producer_quarters') }} as quarters
    inner join years_to_build
        on quarters.year = years_to_build.year
    group by quarters.level, quarters.code, quarters.project_code, quarters.year, quarters.inn, years_to_build.last_load_id
)

select
    enterprises.level,
    enterprises.code,
    enterprises.project_code,
    enterprises.year,
    cast(sum(enterprises.output_value) as decimal(18, 3)) as output_value,
    cast(sum(enterprises.components_cost) as decimal(18, 3)) as components_cost,
    cast(sum(enterprises.imported_components_cost) as decimal(18, 3)) as imported_components_cost,
    cast(sum(enterprises.domestic_technology_output_value) as decimal(18, 3)) as domestic_technology_output_value,
    cast(sum(enterprises.rnd_expenses) as decimal(18, 3)) as rnd_expenses,
    -- metrics.md: distinct inn with output_value > 0
    cast(count(case when enterprises.output_value > 0 then enterprises.inn end) as integer) as producer_count,
    cast(max(enterprises.output_value) as decimal(18, 3)) as top_producer_output_value,
    enterprises.last_load_id
from enterprises
group by
    enterprises.level,
    enterprises.code,
    enterprises.project_code,
    enterprises.year,
    enterprises.last_load_id
