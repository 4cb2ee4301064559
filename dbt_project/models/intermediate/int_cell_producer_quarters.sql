{{ config(materialized='table' if target.type == 'spark' else 'view') }}

-- Each enterprise's quarterly output in every cell that reports on it: its product (level
-- 'product', code okpd2), the product's priority area (level 'area', code project_code) and the
-- area in the enterprise's region (level 'region', code region_code). An enterprise's rows are
-- summed within the cell (several regions for one product, several products for one area), the
-- grain producer_count and top_producer_output_value are taken at (int_cell_producer_totals).
-- Only the output: the cells' other sums need no enterprise grain, and summing them per enterprise
-- too made int_cell_producer_totals take twice as long (docs/performance.md).
--
-- A view: at national scale these are 23.5 million rows, which took 11 s to write as a table and
-- more to read back, while its reader sums them up in seconds for the quarters it rebuilds, which
-- it names as constants so that the filter reaches the scan of int_producer_quarter_outputs
-- (only_periods_to_build). On Spark a table, as the staging models are: the DuckDB warehouse reads
-- a Spark build's models through their Parquet files, which a view does not have.
--
-- One group by per level: a single one over the three levels' rows (a union of them) took 1.5
-- times as long and twice the memory.
with outputs as (
    select *
    from {{ ref('int_producer_quarter_outputs') }}
)
{% for level, code in producer_cell_levels() %}
    select
        '{{ level }}' as level,
        outputs.{{ code }} as code,
        outputs.project_code,
        outputs.period,
        outputs.inn,
        cast(sum(outputs.output_value) as decimal(18, 3)) as output_value
    from outputs
    group by outputs.{{ code }}, outputs.project_code, outputs.period, outputs.inn
    {% if not loop.last %}
        union all
    {% endif %}
{%- endfor %}
