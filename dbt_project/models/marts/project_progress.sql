-- National-project progress per target (project, indicator, year), metrics.md section 4.
--   achievement = actual / target.
--   quarters_reported n = quarters of the year behind the actual (0 when there is no actual):
--     ratio indicators and the index: quarters_reported of area_independence_yearly (the same
--     quarters also weight leadership_share); flow indicators: quarters with at least one
--     regional report for the area.
--   compared_target = target x n / 4 for flow indicators (indicators.kind = 'flow') with n < 4,
--     otherwise the target itself.
--   status: no_data (no actual), achieved (n = 4 and actual >= target), on_track (actual >=
--     compared target), at_risk (actual >= 0.9 x compared target), off_track (otherwise), checked
--     in that order.
with targets as (
    select
        project_code,
        indicator_code,
        year,
        target_value
    from {{ ref('stg_targets') }}
),

indicators as (
    select
        indicator_code,
        kind
    from {{ ref('indicators') }}
),

actuals as (
    {%- for indicator in ['domestic_share', 'localisation', 'domestic_technology_share'] %}
        select
            project_code,
            year,
            '{{ indicator }}' as indicator_code,
            cast({{ indicator }} as double) as actual_value,
            quarters_reported
        from {{ ref('area_independence_yearly') }}
        union all
    {%- endfor %}
    select
        project_code,
        year,
        'leadership_share' as indicator_code,
        cast(leadership_share as double) as actual_value,
        quarters_reported
    from {{ ref('area_leadership') }}
    union all
    {%- for indicator in ['facilities_launched', 'investment', 'jobs_created', 'specialists_trained'] %}
        select
            project_code,
            year,
            '{{ indicator }}' as indicator_code,
            cast({{ indicator }} as double) as actual_value,
            quarters_reported
        from {{ ref('int_area_regional_yearly') }}
        union all
    {%- endfor %}
    select
        project_code,
        year,
        'sovereignty_index' as indicator_code,
        cast(sovereignty_index as double) as actual_value,
        quarters_reported
    from {{ ref('sovereignty_index') }}
    where project_code <> 'ALL'
),

compared as (
    select
        targets.project_code,
        targets.indicator_code,
        targets.year,
        indicators.kind as indicator_kind,
        targets.target_value,
        actuals.actual_value,
        coalesce(actuals.quarters_reported, 0) as quarters_reported,
        case
            when indicators.kind = 'flow' and coalesce(actuals.quarters_reported, 0) < 4
                then cast(targets.target_value as double) * coalesce(actuals.quarters_reported, 0) / 4
            else cast(targets.target_value as double)
        end as compared_target
    from targets
    left join indicators
        on targets.indicator_code = indicators.indicator_code
    left join actuals
        on
            targets.project_code = actuals.project_code
            and targets.indicator_code = actuals.indicator_code
            and targets.year = actuals.year
)

select
    project_code,
    indicator_code,
    year,
    indicator_kind,
    quarters_reported,
    target_value,
    compared_target,
    actual_value,
    {{ ratio('actual_value', 'target_value') }} as achievement,
    case
        when actual_value is null then 'no_data'
        when quarters_reported = 4 and {{ reaches('actual_value', 'target_value') }} then 'achieved'
        when {{ reaches('actual_value', 'compared_target') }} then 'on_track'
        when {{ reaches('actual_value', '0.9 * compared_target') }} then 'at_risk'
        else 'off_track'
    end as status
from compared
