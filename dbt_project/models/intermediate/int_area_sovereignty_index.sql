{%- set weights = sovereignty_index_weights() -%}
{%- set missing_markers = [] -%}
{%- for pillar in weights -%}
    {%- do missing_markers.append("case when " ~ pillar ~ " is null then '" ~ pillar ~ "' end") -%}
{%- endfor -%}

-- Technological sovereignty index per priority area and year (metrics.md section 5):
--   pillars independence = domestic_share, localisation, technology = domestic_technology_share,
--   leadership = leadership_share; each clamped to [0.01, 1];
--   S = 100 x prod_i n_i^w_i = 100 x exp(sum_i w_i ln n_i), weights from sovereignty_index_weights();
--   NULL when any pillar is missing (listed in missing_pillars), never computed from fewer pillars.
-- marts.sovereignty_index publishes these rows with the national ALL row; the Monte Carlo over
-- the weights (int_sovereignty_index_draws) recomputes S from the clamped pillars.
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
    from {{ ref('int_independence_yearly') }} as independence
    left join {{ ref('int_area_leadership') }} as leadership
        on
            independence.project_code = leadership.project_code
            and independence.year = leadership.year
    where independence.level = 'area'
),

clamped as (
    select
        pillars.*,
        {%- for pillar in weights %}
            {{ clamp(pillar, 0.01, 1) }} as {{ pillar }}_clamped,
        {%- endfor %}
        nullif({{ join_present_strings(missing_markers, ',') }}, '') as missing_pillars,
        (
            {%- for pillar in weights %}
                case when pillars.{{ pillar }} is null then 1 else 0 end{% if not loop.last %} +{% endif %}
            {%- endfor %}
        ) as missing_pillar_count
    from pillars
)

select
    clamped.*,
    case
        when clamped.missing_pillar_count = 0 then 100 * exp(
            {%- for pillar in weights %}
                {{ weights[pillar] }} * ln(clamped.{{ pillar }}_clamped){% if not loop.last %} +{% endif %}
            {%- endfor %}
        )
    end as sovereignty_index
from clamped
