{{ config(materialized='table' if target.type == 'spark' else 'view') }}

-- Each enterprise's quarterly figures in every cell that reports on it: its product (level
-- 'product', code okpd2), the product's priority area (level 'area', code project_code) and the
-- area in the enterprise's region (level 'region', code region_code). An enterprise's rows are
-- summed within the cell (several regions for one product, several products for one area), the
-- grain producer_count and top_producer_output_value are taken at.
--
-- A view: at national scale these are 23.5 million rows, which took 11 s to write as a table and
-- more to read back, while its two readers (int_cell_producer_totals and its yearly twin) sum them
-- up in seconds for the quarters (years) they rebuild; their join on the quarter reaches the scan
-- of int_producer_quarter_outputs. One group by per level: a single one over the three levels'
-- rows (a cross join with them) was twice as slow, or ran out of memory under the pipeline's limit.
-- On Spark a table, as the staging models are: the DuckDB warehouse reads a Spark build's models
-- through their Parquet files, which a view does not have.
with outputs as (
    select *
    from {{ ref('int_producer_quarter_outputs') }}
)

-- the product: the enterprise's regions summed
select
    'product' as level,
    outputs.okpd2 as code,
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
group by outputs.okpd2, outputs.project_code, outputs.period, outputs.year, outputs.quarter, outputs.inn

union all

-- the priority area: the enterprise's products and regions summed
select
    'area' as level,
    outputs.project_code as code,
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
    max(outputs.last_load_id) as last_load_id
from outputs
group by outputs.project_code, outputs.period, outputs.year, outputs.quarter, outputs.inn

union all

-- the area in the enterprise's region: its products summed
select
    'region' as level,
    outputs.region_code as code,
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
    max(outputs.last_load_id) as last_load_id
from outputs
group by outputs.region_code, outputs.project_code, outputs.period, outputs.year, outputs.quarter, outputs.inn
