{{ config(materialized='table' if target.type == 'spark' else 'view') }}

-- Each enterprise's quarterly figures in every cell that reports on it: its product (level
-- 'product', code okpd2), the product's priority area (level 'area', code project_code) and the
-- area in the enterprise's region (level 'region', code region_code). An enterprise's rows are
-- summed within the cell (several regions for one product, several products for one area), the
-- grain producer_count and top_producer_output_value are taken at.
--
-- A view: at national scale these are 23.5 million rows, which took 11 s to write as a table and
-- more to read back, while its two readers (int_cell_producer_totals and its yearly twin) sum them
-- up in seconds for the quarters (years) they rebuild, which they name as constants so that the
-- filter reaches the scan of int_producer_quarter_outputs (only_periods_to_build). On Spark a
-- table, as the staging models are: the DuckDB warehouse reads a Spark build's models through
-- their Parquet files, which a view does not have.
--
-- One group by per level (the product's sums the enterprise's regions, the priority area's its
-- products and regions, the area in a region's its products): a single one over the three levels'
-- rows (a cross join with them) was twice as slow, or ran out of memory under the pipeline's limit.
{%- set levels = [('product', 'okpd2'), ('area', 'project_code'), ('region', 'region_code')] %}

with outputs as (
    select *
    from {{ ref('int_producer_quarter_outputs') }}
)
{% for level, code in levels %}
    select
        '{{ level }}' as level,
        outputs.{{ code }} as code,
        outputs.project_code,
        outputs.period,
        outputs.year,
        outputs.quarter,
        outputs.inn,
        cast(sum(outputs.output_value) as decimal(18, 3)) as output_value,
        cast(sum(outputs.components_cost) as decimal(18, 3)) as components_cost,
        cast(sum(outputs.imported_components_cost) as decimal(18, 3)) as imported_components_cost,
        cast(sum(outputs.domestic_technology_output_value) as decimal(18, 3)) as domestic_technology_output_value,
        cast(sum(outputs.rnd_expenses) as decimal(18, 3)) as rnd_expenses,
        -- one value per quarter (int_producer_quarter_outputs stamps the whole quarter)
        max(outputs.last_load_id) as last_load_id
    from outputs
    group by outputs.{{ code }}, outputs.project_code, outputs.period, outputs.year, outputs.quarter, outputs.inn
    {% if not loop.last %}
        union all
    {% endif %}
{%- endfor %}
