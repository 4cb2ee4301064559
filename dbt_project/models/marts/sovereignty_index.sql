{%- set weights = sovereignty_index_weights() -%}

-- Technological sovereignty index per priority area and year (metrics.md section 5; computed in
-- int_area_sovereignty_index), the weights it used, and the consumption-weighted 'ALL' row:
--   ALL = sum_a C_a S_a / sum_a C_a over the areas with an S, C_a = yearly apparent consumption.
-- The raw and clamped pillars and the weights are published so that the Monte Carlo over weights
-- (marts.sovereignty_index_uncertainty) can recompute S.
with areas as (
    select * from {{ ref('int_area_sovereignty_index') }}
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
    project_code,
    year,
    quarters_reported,
    apparent_consumption,
    {%- for pillar in weights %}
        {{ pillar }},
    {%- endfor %}
    {%- for pillar in weights %}
        {{ pillar }}_clamped,
    {%- endfor %}
    {%- for pillar in weights %}
        cast({{ weights[pillar] }} as double) as weight_{{ pillar }},
    {%- endfor %}
    missing_pillars,
    missing_pillar_count,
    cast(null as integer) as areas_in_index,
    sovereignty_index
from areas

union all

select
    'ALL' as project_code,
    year,
    quarters_reported,
    cast(apparent_consumption as decimal(18, 3)) as apparent_consumption,
    {%- for pillar in weights %}
        cast(null as double) as {{ pillar }},
    {%- endfor %}
    {%- for pillar in weights %}
        cast(null as double) as {{ pillar }}_clamped,
    {%- endfor %}
    {%- for pillar in weights %}
        cast({{ weights[pillar] }} as double) as weight_{{ pillar }},
    {%- endfor %}
    cast(null as {{ dbt.type_string() }}) as missing_pillars,
    cast(null as integer) as missing_pillar_count,
    cast(areas_in_index as integer) as areas_in_index,
    sovereignty_index
from national
