{#- Pillar weights are a setting (dbt var sovereignty_index_weights, default equal). They are
    normalised to sum to 1 so that any positive weights can be given. -#}
{%- set pillars = ['independence', 'localisation', 'technology', 'leadership'] -%}
{%- set configured_weights = var('sovereignty_index_weights') -%}
{%- set weights = {} -%}
{%- for pillar in pillars -%}
    {%- if pillar not in configured_weights or configured_weights[pillar] | float < 0 -%}
        {{ exceptions.raise_compiler_error("var sovereignty_index_weights needs a weight >= 0 for " ~ pillar) }}
    {%- endif -%}
    {%- do weights.update({pillar: configured_weights[pillar] | float}) -%}
{%- endfor -%}
{%- set weight_total = weights.values() | sum -%}
{%- set missing_markers = [] -%}
{%- for pillar in pillars -%}
    {%- do missing_markers.append("case when " ~ pillar ~ " is null then '" ~ pillar ~ "' end") -%}
{%- endfor -%}
{%- if weight_total <= 0 -%}
    {{ exceptions.raise_compiler_error("var sovereignty_index_weights must not all be 0") }}
{%- endif -%}

-- Technological sovereignty index per priority area and year, and the consumption-weighted 'ALL'
-- row (metrics.md section 5):
--   pillars independence = domestic_share, localisation, technology = domestic_technology_share,
--   leadership = leadership_share; each clamped to [0.01, 1];
--   S = 100 x prod_i n_i^w_i = 100 x exp(sum_i w_i ln n_i); NULL when any pillar is missing (listed
--   in missing_pillars), never computed from fewer pillars;
--   ALL = sum_a C_a S_a / sum_a C_a over the areas with an S, C_a = yearly apparent consumption.
-- The raw and clamped pillars and the weights are published so that the Monte Carlo over weights
-- (marts.sovereignty_index_uncertainty) can recompute S.
with pillars as (
    select
        independence.project_code,
        independence.year,
        independence.quarters_reported,
        independence.apparent_consumption,
        independence.domestic_share as independence,
        independence.localisation,
        independence.domestic_technology_share as technology,
        leadership.leadership_share as leadership
    from {{ ref('area_independence_yearly') }} as independence
    left join {{ ref('area_leadership') }} as leadership
        on leadership.project_code = independence.project_code
        and leadership.year = independence.year
),

clamped as (
    select
        pillars.*,
        {%- for pillar in pillars %}
        {{ clamp(pillar, 0.01, 1) }} as {{ pillar }}_clamped,
        {%- endfor %}
        {{ join_present_strings(missing_markers, ',') }} as missing_pillar_list,
        (
            {%- for pillar in pillars %}
            case when {{ pillar }} is null then 1 else 0 end{% if not loop.last %} +{% endif %}
            {%- endfor %}
        ) as missing_pillar_count
    from pillars
),

areas as (
    select
        clamped.*,
        case
            when missing_pillar_count = 0 then 100 * exp(
                {%- for pillar in pillars %}
                {{ weights[pillar] / weight_total }} * ln({{ pillar }}_clamped){% if not loop.last %} +{% endif %}
                {%- endfor %}
            )
        end as sovereignty_index
    from clamped
),

national as (
    select
        year,
        max(quarters_reported) as quarters_reported,
        sum(case when sovereignty_index is not null then apparent_consumption end) as apparent_consumption,
        count(sovereignty_index) as areas_in_index,
        {{ ratio(
            exact_sum('case when sovereignty_index is not null then apparent_consumption * sovereignty_index end'),
            'sum(case when sovereignty_index is not null then apparent_consumption end)') }} as sovereignty_index
    from areas
    group by year
)

select
    cast(project_code as {{ dbt.type_string() }}) as project_code,
    cast(year as integer) as year,
    cast(quarters_reported as integer) as quarters_reported,
    cast(apparent_consumption as decimal(18, 3)) as apparent_consumption,
    {%- for pillar in pillars %}
    cast({{ pillar }} as double) as {{ pillar }},
    {%- endfor %}
    {%- for pillar in pillars %}
    cast({{ pillar }}_clamped as double) as {{ pillar }}_clamped,
    {%- endfor %}
    {%- for pillar in pillars %}
    cast({{ weights[pillar] / weight_total }} as double) as weight_{{ pillar }},
    {%- endfor %}
    cast(nullif(missing_pillar_list, '') as {{ dbt.type_string() }}) as missing_pillars,
    cast(missing_pillar_count as integer) as missing_pillar_count,
    cast(null as integer) as areas_in_index,
    cast(sovereignty_index as double) as sovereignty_index
from areas

union all

select
    cast('ALL' as {{ dbt.type_string() }}) as project_code,
    cast(year as integer) as year,
    cast(quarters_reported as integer) as quarters_reported,
    cast(apparent_consumption as decimal(18, 3)) as apparent_consumption,
    {%- for pillar in pillars %}
    cast(null as double) as {{ pillar }},
    {%- endfor %}
    {%- for pillar in pillars %}
    cast(null as double) as {{ pillar }}_clamped,
    {%- endfor %}
    {%- for pillar in pillars %}
    cast({{ weights[pillar] / weight_total }} as double) as weight_{{ pillar }},
    {%- endfor %}
    cast(null as {{ dbt.type_string() }}) as missing_pillars,
    cast(null as integer) as missing_pillar_count,
    cast(areas_in_index as integer) as areas_in_index,
    cast(sovereignty_index as double) as sovereignty_index
from national
