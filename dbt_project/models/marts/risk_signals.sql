-- Early-warning signals (issue #13, docs/early_warning.md): one row per signal, what changed
-- between two periods that both have the data (a quarter without a trade file gives no
-- dependency signal: it is a completeness warning). Thresholds: var early_warning
-- (dbt_project.yml). A change of at least high_severity_multiple x its threshold is 'high',
-- a smaller one past the threshold 'medium'.
--   strategic_dependency_new      product: strategic_dependency false the previous quarter, true now;
--                                  high when also false the same quarter a year earlier
--   import_dependency_rise_quarter product, area: import_dependency up > import_dependency_rise
--                                  against the previous quarter
--   import_dependency_rise_year    the same against the same quarter a year earlier
--   partner_share_rise             product, area: one partner country's share of imports up >
--                                  partner_share_rise against the previous quarter (0 before when
--                                  it supplied nothing; both quarters need imports)
--   localisation_fall              product, area: localisation down > localisation_fall
--   domestic_technology_fall       product, area: domestic_technology_share down > domestic_technology_fall
--   project_status_worse           project: an indicator's status (on_track or achieved, at_risk,
--                                  off_track) worse than the year before; high when off_track
--   leadership_band_fall           product: band (leader, comparable, lagging) lower than the year
--                                  before; high when it falls two bands
--   report_late                    region: did not report the latest quarter though it reported the
--                                  one before; report_kind: the latest quarter has producer
--                                  reports but no trade file or the reverse (medium)
{% set thresholds = var('early_warning') %}
{% set multiple = thresholds['high_severity_multiple'] %}
with products as (
    select
        okpd2 as code,
        name_en
    from {{ ref('products') }}
),

areas as (
    select
        project_code as code,
        name_en
    from {{ ref('priority_areas') }}
),

quarterly as (
    select
        period,
        year,
        quarter,
        'product' as level,
        okpd2 as code,
        project_code,
        import_dependency,
        strategic_dependency,
        localisation,
        domestic_technology_share
    from {{ ref('product_independence') }}
    union all
    select
        period,
        year,
        quarter,
        'area' as level,
        project_code as code,
        project_code,
        import_dependency,
        cast(null as boolean) as strategic_dependency,
        localisation,
        domestic_technology_share
    from {{ ref('area_independence') }}
),

named as (
    select
        quarterly.*,
        coalesce(products.name_en, areas.name_en) || ' (' || quarterly.code || ')' as subject_name
    from quarterly
    left join products
        on quarterly.level = 'product' and quarterly.code = products.code
    left join areas
        on quarterly.level = 'area' and quarterly.code = areas.code
),

-- each row next to the same product or area the previous quarter (comparison 'quarter') and
-- the same quarter a year earlier (comparison 'year')
pairs as (
    select
        'quarter' as comparison,
        cur.*,
        previous.period as period_before,
        previous.import_dependency as import_dependency_before,
        previous.strategic_dependency as strategic_dependency_before,
        previous.localisation as localisation_before,
        previous.domestic_technology_share as domestic_technology_share_before
    from named as cur
    inner join named as previous
        on
            cur.level = previous.level
            and cur.code = previous.code
            and previous.year * 4 + previous.quarter = cur.year * 4 + cur.quarter - 1
    union all
    select
        'year' as comparison,
        cur.*,
        previous.period as period_before,
        previous.import_dependency as import_dependency_before,
        previous.strategic_dependency as strategic_dependency_before,
        previous.localisation as localisation_before,
        previous.domestic_technology_share as domestic_technology_share_before
    from named as cur
    inner join named as previous
        on
            cur.level = previous.level
            and cur.code = previous.code
            and previous.year = cur.year - 1
            and cur.quarter = previous.quarter
),

changes as (
    select
        pairs.period,
        pairs.period_before,
        pairs.level,
        pairs.code,
        pairs.project_code,
        cast(null as {{ dbt.type_string() }}) as subject,
        'strategic_dependency_new' as signal_type,
        -- high for a new dependency; medium for one flickering back (strategic a year earlier, or
        -- unknown then), as an HHI hovering at 0.4 does
        case when year_earlier.strategic_dependency_before = false then 'high' else 'medium' end as severity,
        pairs.import_dependency_before as value_before,
        pairs.import_dependency as value_after,
        cast(null as double) as threshold,
        pairs.subject_name || ' became a strategic dependency in ' || pairs.period || ': imports cover '
        || {{ percent('pairs.import_dependency') }} || ' of consumption (' || {{ percent('pairs.import_dependency_before') }}
        || ' in ' || pairs.period_before || ') and come from few partners.' as message
    from pairs
    left join pairs as year_earlier
        on
            year_earlier.comparison = 'year'
            and pairs.level = year_earlier.level
            and pairs.code = year_earlier.code
            and pairs.period = year_earlier.period
    where pairs.comparison = 'quarter' and pairs.strategic_dependency and not pairs.strategic_dependency_before

    union all

    select
        period,
        period_before,
        level,
        code,
        project_code,
        cast(null as {{ dbt.type_string() }}) as subject,
        'import_dependency_rise_' || comparison as signal_type,
        case
            when import_dependency - import_dependency_before >= {{ multiple }} * {{ thresholds['import_dependency_rise'] }}
                then 'high'
            else 'medium'
        end as severity,
        import_dependency_before as value_before,
        import_dependency as value_after,
        {{ thresholds['import_dependency_rise'] }} as threshold,
        'Import dependency of ' || subject_name || ' rose from ' || {{ percent('import_dependency_before') }}
        || ' in ' || period_before || ' to ' || {{ percent('import_dependency') }} || ' in ' || period || '.' as message
    from pairs
    where import_dependency - import_dependency_before > {{ thresholds['import_dependency_rise'] }}

    union all

    select
        period,
        period_before,
        level,
        code,
        project_code,
        cast(null as {{ dbt.type_string() }}) as subject,
        'localisation_fall' as signal_type,
        case
            when localisation_before - localisation >= {{ multiple }} * {{ thresholds['localisation_fall'] }}
                then 'high'
            else 'medium'
        end as severity,
        localisation_before as value_before,
        localisation as value_after,
        {{ thresholds['localisation_fall'] }} as threshold,
        'Localisation of ' || subject_name || ' fell from ' || {{ percent('localisation_before') }}
        || ' in ' || period_before || ' to ' || {{ percent('localisation') }} || ' in ' || period
        || ': more of its components are imported.' as message
    from pairs
    where comparison = 'quarter' and localisation_before - localisation > {{ thresholds['localisation_fall'] }}

    union all

    select
        period,
        period_before,
        level,
        code,
        project_code,
        cast(null as {{ dbt.type_string() }}) as subject,
        'domestic_technology_fall' as signal_type,
        case
            when
                domestic_technology_share_before - domestic_technology_share
                >= {{ multiple }} * {{ thresholds['domestic_technology_fall'] }}
                then 'high'
            else 'medium'
        end as severity,
        domestic_technology_share_before as value_before,
        domestic_technology_share as value_after,
        {{ thresholds['domestic_technology_fall'] }} as threshold,
        'The share of ' || subject_name || ' made with domestic technology fell from '
        || {{ percent('domestic_technology_share_before') }} || ' in ' || period_before || ' to '
        || {{ percent('domestic_technology_share') }} || ' in ' || period || '.' as message
    from pairs
    where
        comparison = 'quarter'
        and domestic_technology_share_before - domestic_technology_share > {{ thresholds['domestic_technology_fall'] }}
),

partner_shares as (
    select
        exposure.period,
        exposure.year,
        exposure.quarter,
        exposure.level,
        exposure.code,
        exposure.project_code,
        exposure.partner_code,
        exposure.import_share,
        countries.name_en as partner_name
    from {{ ref('partner_exposure') }} as exposure
    inner join {{ ref('countries') }} as countries
        on exposure.partner_code = countries.country_code
    where exposure.partner_type = 'country' and exposure.import_share is not null
),

partner_pairs as (
    -- the quarter before must have imports (a share); a partner absent from it supplied 0
    select
        cur.*,
        before_totals.period as period_before,
        named.subject_name,
        coalesce(previous.import_share, 0) as import_share_before
    from partner_shares as cur
    inner join named as before_totals
        on
            cur.level = before_totals.level
            and cur.code = before_totals.code
            and before_totals.year * 4 + before_totals.quarter = cur.year * 4 + cur.quarter - 1
    inner join named
        on
            cur.level = named.level
            and cur.code = named.code
            and cur.period = named.period
    left join partner_shares as previous
        on
            cur.level = previous.level
            and cur.code = previous.code
            and cur.partner_code = previous.partner_code
            and before_totals.period = previous.period
    where exists (
        select 1 from {{ ref('partner_exposure') }} as had_imports
        where
            had_imports.level = cur.level
            and had_imports.code = cur.code
            and had_imports.period = before_totals.period
            and had_imports.imports > 0
    )
),

partner_signals as (
    select
        period,
        period_before,
        level,
        code,
        project_code,
        partner_code as subject,
        'partner_share_rise' as signal_type,
        case
            when import_share - import_share_before >= {{ multiple }} * {{ thresholds['partner_share_rise'] }}
                then 'high'
            else 'medium'
        end as severity,
        import_share_before as value_before,
        import_share as value_after,
        {{ thresholds['partner_share_rise'] }} as threshold,
        partner_name || '''s share of the imports of ' || subject_name || ' rose from '
        || {{ percent('import_share_before') }} || ' in ' || period_before || ' to '
        || {{ percent('import_share') }} || ' in ' || period || '.' as message
    from partner_pairs
    where import_share - import_share_before > {{ thresholds['partner_share_rise'] }}
),

status_ranks as (
    select
        progress.project_code,
        progress.indicator_code,
        progress.year,
        progress.status,
        progress.actual_value,
        areas.name_en as area_name,
        case progress.status when 'achieved' then 0 when 'on_track' then 0 when 'at_risk' then 1 when 'off_track' then 2 end as status_rank
    from {{ ref('project_progress') }} as progress
    inner join areas
        on progress.project_code = areas.code
    where progress.status <> 'no_data'
),

project_signals as (
    select
        cast(cur.year as {{ dbt.type_string() }}) as period,
        cast(previous.year as {{ dbt.type_string() }}) as period_before,
        'project' as level,
        cur.project_code as code,
        cur.project_code,
        cur.indicator_code as subject,
        'project_status_worse' as signal_type,
        case when cur.status = 'off_track' then 'high' else 'medium' end as severity,
        previous.actual_value as value_before,
        cur.actual_value as value_after,
        cast(null as double) as threshold,
        'National project ' || cur.area_name || ': ' || replace(cur.indicator_code, '_', ' ') || ' went from '
        || replace(previous.status, '_', ' ') || ' in ' || cast(previous.year as {{ dbt.type_string() }}) || ' to '
        || replace(cur.status, '_', ' ') || ' in ' || cast(cur.year as {{ dbt.type_string() }}) || '.' as message
    from status_ranks as cur
    inner join status_ranks as previous
        on
            cur.project_code = previous.project_code
            and cur.indicator_code = previous.indicator_code
            and previous.year = cur.year - 1
    where cur.status_rank > previous.status_rank
),

band_ranks as (
    select
        leadership.okpd2,
        leadership.project_code,
        leadership.year,
        leadership.band,
        leadership.technical_level,
        case leadership.band when 'leader' then 0 when 'comparable' then 1 when 'lagging' then 2 end as band_rank,
        products.name_en || ' (' || leadership.okpd2 || ')' as subject_name
    from {{ ref('product_leadership') }} as leadership
    inner join products
        on leadership.okpd2 = products.code
    where leadership.band <> 'not_assessed'
),

band_signals as (
    select
        cast(cur.year as {{ dbt.type_string() }}) as period,
        cast(previous.year as {{ dbt.type_string() }}) as period_before,
        'product' as level,
        cur.okpd2 as code,
        cur.project_code,
        cast(null as {{ dbt.type_string() }}) as subject,
        'leadership_band_fall' as signal_type,
        case when cur.band_rank - previous.band_rank >= 2 then 'high' else 'medium' end as severity,
        previous.technical_level as value_before,
        cur.technical_level as value_after,
        cast(null as double) as threshold,
        'The best domestic ' || cur.subject_name || ' fell from ' || previous.band || ' in '
        || cast(previous.year as {{ dbt.type_string() }}) || ' to ' || cur.band || ' in '
        || cast(cur.year as {{ dbt.type_string() }}) || ' against the best foreign analogue.' as message
    from band_ranks as cur
    inner join band_ranks as previous
        on
            cur.okpd2 = previous.okpd2
            and previous.year = cur.year - 1
    where cur.band_rank > previous.band_rank
),

latest_quarter as (
    select max(period) as period from {{ ref('int_reported_quarters') }}
),

late_signals as (
    select
        warnings.period,
        cast(null as {{ dbt.type_string() }}) as period_before,
        case when warnings.region_code is null then 'report_kind' else 'region' end as level,
        coalesce(warnings.region_code, warnings.kind) as code,
        cast(null as {{ dbt.type_string() }}) as project_code,
        cast(null as {{ dbt.type_string() }}) as subject,
        'report_late' as signal_type,
        'medium' as severity,
        cast(null as double) as value_before,
        cast(null as double) as value_after,
        cast(null as double) as threshold,
        warnings.detail || '.' as message
    from {{ ref('int_completeness_warnings') }} as warnings
    where
        warnings.rule in ('completeness.region_not_reported', 'completeness.no_trade_file', 'completeness.no_producer_reports')
        and warnings.period = (select latest_quarter.period from latest_quarter)
),

signals as (
    select * from changes
    union all
    select * from partner_signals
    union all
    select * from project_signals
    union all
    select * from band_signals
    union all
    select * from late_signals
)

select
    period,
    period_before,
    level,
    code,
    project_code,
    subject,
    signal_type,
    severity,
    value_before,
    value_after,
    threshold,
    message
from signals
