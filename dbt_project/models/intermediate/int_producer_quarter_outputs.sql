{{ config(**incremental_config('period')) }}

-- One row per enterprise, product, region and quarter: the enterprise's report rows summed (a
-- file may carry the same enterprise and product twice; both rows count, inputs.md). The grain
-- every producer-based metric starts from.
with periods_to_build as (
    {{ periods_to_build([[ref('stg_producer'), 'load_id']], is_incremental()) }}
),

producer as (
    select *
    from {{ ref('stg_producer') }}
),

products as (
    select
        okpd2,
        project_code
    from {{ ref('products') }}
)

select
    producer.period,
    producer.year,
    producer.quarter,
    producer.inn,
    producer.okpd2,
    products.project_code,
    producer.region_code,
    cast(sum(producer.output_value) as decimal(18, 3)) as output_value,
    cast(sum(producer.components_cost) as decimal(18, 3)) as components_cost,
    cast(sum(producer.imported_components_cost) as decimal(18, 3)) as imported_components_cost,
    cast(sum(case when producer.technology_origin = 'domestic' then producer.output_value else 0 end) as decimal(18, 3))
        as domestic_technology_output_value,
    cast(sum(producer.rnd_expenses) as decimal(18, 3)) as rnd_expenses,
    cast(count(*) as integer) as report_rows,
    periods_to_build.last_load_id
from producer
inner join periods_to_build
    on producer.period = periods_to_build.period
left join products
    on producer.okpd2 = products.okpd2
group by
    producer.period,
    producer.year,
    producer.quarter,
    producer.inn,
    producer.okpd2,
    products.project_code,
    producer.region_code,
    periods_to_build.last_load_id
