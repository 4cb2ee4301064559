{{ config(**incremental_config('period')) }}

-- Producer figures per cell (product, area, or area in a region; see int_cell_producer_quarters)
-- and quarter. Only cells with producer rows appear.
-- The quarters and their stamps are int_producer_quarter_outputs', which int_cell_producer_quarters
-- (a view) is computed from: asking the view for them would compute it whole.
{%- set stamped_inputs = [[ref('int_producer_quarter_outputs'), 'last_load_id']] %}
with periods_to_build as (
    {{ periods_to_build(stamped_inputs, is_incremental()) }}
),

enterprises as (
    select *
    from {{ ref('int_cell_producer_quarters') }}
    {{ only_periods_to_build('period', stamped_inputs, is_incremental()) }}
)

select
    enterprises.level,
    enterprises.code,
    enterprises.project_code,
    enterprises.period,
    enterprises.year,
    enterprises.quarter,
    cast(sum(enterprises.output_value) as decimal(18, 3)) as output_value,
    cast(sum(enterprises.components_cost) as decimal(18, 3)) as components_cost,
    cast(sum(enterprises.imported_components_cost) as decimal(18, 3)) as imported_components_cost,
    cast(sum(enterprises.domestic_technology_output_value) as decimal(18, 3)) as domestic_technology_output_value,
    cast(sum(enterprises.rnd_expenses) as decimal(18, 3)) as rnd_expenses,
    -- metrics.md: distinct inn with output_value > 0
    cast(count(case when enterprises.output_value > 0 then enterprises.inn end) as integer) as producer_count,
    cast(max(enterprises.output_value) as decimal(18, 3)) as top_producer_output_value,
    periods_to_build.last_load_id
from enterprises
inner join periods_to_build
    on enterprises.period = periods_to_build.period
group by
    enterprises.level,
    enterprises.code,
    enterprises.project_code,
    enterprises.period,
    enterprises.year,
    enterprises.quarter,
    periods_to_build.last_load_id
