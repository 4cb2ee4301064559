-- Incomplete data: what has not arrived yet. These are warnings, never reasons to withhold a
-- release (outputs.md: block on wrong data, not on incomplete data); marts.data_quality and the
-- release manifest list them.
with loaded_kinds as (
    select distinct kind from {{ ref('stg_audit_loads') }}
    where load_status = 'loaded'
),

report_kinds as (
    {%- for kind in ['producer', 'trade', 'regional', 'characteristics', 'benchmarks', 'targets'] %}
        select '{{ kind }}' as kind{% if not loop.last %}
            union all{% endif %}
    {%- endfor %}
),

quarters as (
    select * from {{ ref('int_reported_quarters') }}
),

regional_reports as (
    select distinct
        period,
        region_code
    from {{ ref('stg_regional') }}
),

latest_regional_quarter as (
    select max(period) as period from regional_reports
),

previous_regional_quarter as (
    select max(period) as period
    from regional_reports
    where period < (select latest_regional_quarter.period from latest_regional_quarter)
),

late_regions as (
    -- Regions that reported the quarter before the latest one but not the latest one.
    select
        previous.region_code,
        (select latest_regional_quarter.period from latest_regional_quarter) as period
    from regional_reports as previous
    where
        previous.period = (select previous_regional_quarter.period from previous_regional_quarter)
        and not exists (
            select 1 from regional_reports as latest
            where
                latest.region_code = previous.region_code
                and latest.period = (select latest_regional_quarter.period from latest_regional_quarter)
        )
)

select
    'completeness.kind_not_arrived' as rule,
    report_kinds.kind,
    cast(null as {{ dbt.type_string() }}) as period,
    cast(null as {{ dbt.type_string() }}) as region_code,
    'no ' || report_kinds.kind || ' report has arrived yet' as detail
from report_kinds
where report_kinds.kind not in (select loaded_kinds.kind from loaded_kinds)

union all

select
    'completeness.no_trade_file' as rule,
    'trade' as kind,
    period,
    cast(null as {{ dbt.type_string() }}) as region_code,
    period || ': producer reports but no customs (trade) file; imports and ratios are NULL' as detail
from quarters
where has_producer_reports and not has_trade_file

union all

select
    'completeness.no_producer_reports' as rule,
    'producer' as kind,
    period,
    cast(null as {{ dbt.type_string() }}) as region_code,
    period || ': a customs file but no producer reports; output and ratios are NULL' as detail
from quarters
where has_trade_file and not has_producer_reports

union all

select
    'completeness.region_not_reported' as rule,
    'regional' as kind,
    period,
    region_code,
    period || ': region ' || region_code || ' has not reported yet (it did the quarter before)' as detail
from late_regions
