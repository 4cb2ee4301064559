{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'stg_producer'}}}) }}
-- meta.dagster.ref makes Dagster show this test as a check of the producer reports it reads first.
-- Reports about a priority area before its first year (priority_areas.available_from_year, e.g.
-- BIO before 2026) are kept in staging but left out of the product and area marts and the
-- index. Warn so that such deliveries are noticed.
with areas as (
    select project_code, cast(available_from_year as integer) as available_from_year
    from {{ ref('priority_areas') }}
    where available_from_year is not null
),

reported as (
    select 'producer' as kind, products.project_code, producer.year
    from {{ ref('stg_producer') }} as producer
    inner join {{ ref('products') }} as products on products.okpd2 = producer.okpd2
    union all
    select 'trade' as kind, products.project_code, trade.year
    from {{ ref('stg_trade') }} as trade
    inner join {{ ref('products') }} as products on products.okpd2 = trade.okpd2
    union all
    select 'regional' as kind, project_code, year
    from {{ ref('stg_regional') }}
)

select reported.kind, reported.project_code, reported.year, count(*) as report_rows
from reported
inner join areas
    on areas.project_code = reported.project_code
where reported.year < areas.available_from_year
group by reported.kind, reported.project_code, reported.year
