{{ config(**incremental_config('period')) }}

-- Producer figures per cell (product, area, or area in a region; see int_cell_producer_quarters)
-- and quarter. Only cells with producer rows appear. The sums are taken over the cell's rows of
-- int_producer_quarter_outputs; producer_count and top_producer_output_value over each
-- enterprise's output in the cell (int_cell_producer_quarters), the only figure that needs the
-- enterprise grain.
-- The quarters and their stamps are int_producer_quarter_outputs', which int_cell_producer_quarters
-- (a view) is computed from: asking the view for them would compute it whole.
{%- set stamped_inputs = [[ref('int_producer_quarter_outputs'), 'last_load_id']] %}
with periods_to_build as (
    {{ periods_to_build(stamped_inputs, is_incremental()) }}
),

outputs as (
    select *
    from {{ ref('int_producer_quarter_outputs') }}
),

cell_sums as (
    {%- for level, code in producer_cell_levels() %}
        select
            '{{ level }}' as level,
            outputs.{{ code }} as code,
            outputs.project_code,
            outputs.period,
            outputs.year,
            outputs.quarter,
            periods_to_build.last_load_id,
            sum(outputs.output_value) as output_value,
            sum(outputs.components_cost) as components_cost,
            sum(outputs.imported_components_cost) as imported_components_cost,
            sum(outputs.domestic_technology_output_value) as domestic_technology_output_value,
            sum(outputs.rnd_expenses) as rnd_expenses
        from outputs
        inner join periods_to_build
            on outputs.period = periods_to_build.period
        group by
            outputs.{{ code }},
            outputs.project_code,
            outputs.period,
            outputs.year,
            outputs.quarter,
            periods_to_build.last_load_id
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

producers as (
    select
        enterprises.level,
        enterprises.code,
        enterprises.project_code,
        enterprises.period,
        -- metrics.md: distinct inn with output_value > 0
        count(case when enterprises.output_value > 0 then enterprises.inn end) as producer_count,
        max(enterprises.output_value) as top_producer_output_value
    from {{ ref('int_cell_producer_quarters') }} as enterprises
    {{ only_periods_to_build('enterprises.period', stamped_inputs, is_incremental()) }}
    group by enterprises.level, enterprises.code, enterprises.project_code, enterprises.period
)

select
    cell_sums.level,
    cell_sums.code,
    cell_sums.project_code,
    cell_sums.period,
    cell_sums.year,
    cell_sums.quarter,
    cast(cell_sums.output_value as decimal(18, 3)) as output_value,
    cast(cell_sums.components_cost as decimal(18, 3)) as components_cost,
    cast(cell_sums.imported_components_cost as decimal(18, 3)) as imported_components_cost,
    cast(cell_sums.domestic_technology_output_value as decimal(18, 3)) as domestic_technology_output_value,
    cast(cell_sums.rnd_expenses as decimal(18, 3)) as rnd_expenses,
    cast(producers.producer_count as integer) as producer_count,
    cast(producers.top_producer_output_value as decimal(18, 3)) as top_producer_output_value,
    cell_sums.last_load_id
from cell_sums
-- a cell's code or area may be missing (a product outside the reference list): such cells match too
inner join producers
    on
        cell_sums.level = producers.level
        and cell_sums.code is not distinct from producers.code
        and cell_sums.project_code is not distinct from producers.project_code
        and cell_sums.period = producers.period
