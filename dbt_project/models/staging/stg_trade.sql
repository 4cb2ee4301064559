-- Customs trade in force: for each quarter every row of the latest trade load that carried that
-- quarter (a newer file for a quarter replaces the quarter). A quarter present here "has a trade
-- file", which is what turns a product's missing imports into 0 rather than NULL downstream.
with trade as (
    select * from {{ latest_revision(source('raw', 'trade'), ['period'], keep='latest_load') }} as revised
)

select
    cast(period as {{ dbt.type_string() }}) as period,
    {{ period_year('period') }} as year,
    {{ period_quarter('period') }} as quarter,
    cast(okpd2 as {{ dbt.type_string() }}) as okpd2,
    cast(partner_country as {{ dbt.type_string() }}) as partner_country,
    cast(flow as {{ dbt.type_string() }}) as flow,
    cast(value as decimal(18, 3)) as customs_value,
    cast(_load_id as bigint) as load_id,
    cast(_source_file as {{ dbt.type_string() }}) as source_file,
    cast(_row_number as bigint) as source_row_number,
    _ingested_at as ingested_at,
    _soft_flags as soft_flags
from trade
