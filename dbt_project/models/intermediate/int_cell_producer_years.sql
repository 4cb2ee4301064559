{{ config(materialized='table' if target.type == 'spark' else 'view') }}

-- Each enterprise's yearly output in every cell that reports on it (the cells of
-- int_cell_producer_quarters): the grain int_cell_producer_totals_yearly takes producer_count and
-- top_producer_output_value at. Grouped by year straight from int_producer_quarter_outputs:
-- summing int_cell_producer_quarters' quarters again took 2.6 times as long at national scale.
-- A view on DuckDB and a table on Spark, for int_cell_producer_quarters' reasons.
with outputs as (
    select *
    from {{ ref('int_producer_quarter_outputs') }}
)
{% for level, code in producer_cell_levels() %}
    select
        '{{ level }}' as level,
        outputs.{{ code }} as code,
        outputs.project_code,
        outputs.year,
        outputs.inn,
        cast(sum(outputs.output_value) as decimal(18, 3)) as output_value
    from outputs
    group by outputs.{{ code }}, outputs.project_code, outputs.year, outputs.inn
    {% if not loop.last %}
        union all
    {% endif %}
{%- endfor %}
