{{ config(**incremental_config('year')) }}

-- Producer figures per cell (product, area, or area in a region; see int_cell_producer_quarters)
-- and year: an enterprise's quarters are summed first, so producer_count and
-- top_producer_output_value are taken on its yearly output. Only cells with producer rows appear.
-- Incremental by year: a run after one new quarter rebuilds only that quarter's year.
with years_to_build as (
    {{ periods_to_build([[ref('int_cell_producer_quarters'), 'last_load_id']], is_incremental(), grain='year') }}
),

enterprises as (
    select
        level,
        code,
        project_code,
        year,
        inn,
        sum(output_value) as output_value,
        sum(components_cost) as components_cost,
        sum(imported_components_cost) as imported_components_cost,
        sum(domestic_technology_output_value) as domestic_technology_output_value,
        sum(rnd_expenses) as rnd_expenses
    from {{ ref('int_cell_producer_quarters') }}
    group by level, code, project_code, year, inn
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
    years_to_build.last_load_id
from enterprises
inner join years_to_build
    on enterprises.year = years_to_build.year
group by
    enterprises.level,
    enterprises.code,
    enterprises.project_code,
    enterprises.year,
    years_to_build.last_load_id
