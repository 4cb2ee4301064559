{{ config(**incremental_config('year')) }}

-- Producer figures per cell (product, area, or area in a region; see int_cell_producer_quarters)
-- and year. The sums are the cell's quarters' (int_cell_producer_totals); producer_count and
-- top_producer_output_value are taken on each enterprise's yearly output in the cell
-- (int_cell_producer_years). Only cells with producer rows appear.
-- Incremental by year: a run after one new quarter rebuilds only that quarter's year.
-- The years and their stamps are int_producer_quarter_outputs', which int_cell_producer_years (a
-- view) is computed from: asking the view for them would compute it whole.
{%- set stamped_inputs = [[ref('int_producer_quarter_outputs'), 'last_load_id']] %}
with years_to_build as (
    {{ periods_to_build(stamped_inputs, is_incremental(), grain='year') }}
),

cell_quarters as (
    select
        totals.level,
        totals.code,
        totals.project_code,
        totals.year,
        years_to_build.last_load_id,
        sum(totals.output_value) as output_value,
        sum(totals.components_cost) as components_cost,
        sum(totals.imported_components_cost) as imported_components_cost,
        sum(totals.domestic_technology_output_value) as domestic_technology_output_value,
        sum(totals.rnd_expenses) as rnd_expenses
    from {{ ref('int_cell_producer_totals') }} as totals
    inner join years_to_build
        on totals.year = years_to_build.year
    group by totals.level, totals.code, totals.project_code, totals.year, years_to_build.last_load_id
),

-- The years are chosen as constants (only_periods_to_build): they then reach the view's scan of
-- int_producer_quarter_outputs, where a join would not (macros/incremental_periods.sql).
producers as (
    select
        enterprises.level,
        enterprises.code,
        enterprises.project_code,
        enterprises.year,
        -- metrics.md: distinct inn with output_value > 0
        count(case when enterprises.output_value > 0 then enterprises.inn end) as producer_count,
        max(enterprises.output_value) as top_producer_output_value
    from {{ ref('int_cell_producer_years') }} as enterprises
    {{ only_periods_to_build('enterprises.year', stamped_inputs, is_incremental(), grain='year') }}
    group by enterprises.level, enterprises.code, enterprises.project_code, enterprises.year
)

select
    cell_quarters.level,
    cell_quarters.code,
    cell_quarters.project_code,
    cell_quarters.year,
    cast(cell_quarters.output_value as decimal(18, 3)) as output_value,
    cast(cell_quarters.components_cost as decimal(18, 3)) as components_cost,
    cast(cell_quarters.imported_components_cost as decimal(18, 3)) as imported_components_cost,
    cast(cell_quarters.domestic_technology_output_value as decimal(18, 3)) as domestic_technology_output_value,
    cast(cell_quarters.rnd_expenses as decimal(18, 3)) as rnd_expenses,
    cast(producers.producer_count as integer) as producer_count,
    cast(producers.top_producer_output_value as decimal(18, 3)) as top_producer_output_value,
    cell_quarters.last_load_id
from cell_quarters
-- a cell's code or area may be missing (a product outside the reference list): such cells match too
inner join producers
    on
        cell_quarters.level = producers.level
        and cell_quarters.code is not distinct from producers.code
        and cell_quarters.project_code is not distinct from producers.project_code
        and cell_quarters.year = producers.year
