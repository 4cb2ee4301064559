{%- set uncertainty = sovereignty_index_uncertainty() -%}
{%- set pillars = sovereignty_index_pillars() -%}
{%- set exponentials = [] -%}
{%- for pillar in pillars -%}
    {%- do exponentials.append('exponential_' ~ pillar) -%}
{%- endfor -%}

-- Weight vectors of the Monte Carlo over the sovereignty index weights (metrics.md section 5): a
-- flat Dirichlet(1, 1, 1, 1) with a fixed seed (dbt var sovereignty_index_uncertainty), drawn from
-- a hash rather than an engine's random generator, so that DuckDB and Spark draw the same weights.
-- For draw d (0 .. draws - 1) and pillar i (0 .. 3, in the order independence, localisation,
-- technology, leadership):
--   h   = the first 13 hex digits (52 bits) of md5('<seed>-<d>-<i>') as an integer,
--   u   = (h + 0.5) / 16^13, uniform on (0, 1), never 0 or 1 (16^13 = 4503599627370496),
--   e_i = -ln(u), exponential with mean 1,
--   w_i = e_i / sum_i e_i: normalised exponentials are a flat Dirichlet sample.
-- h + 0.5 and the division by 16^13 = 2^52 are exact in double precision on both engines.
with hash_digits as (
    select
        draws.draw,
        {%- for pillar in pillars %}
            substr(
                md5('{{ uncertainty.seed }}-' || cast(draws.draw as {{ dbt.type_string() }}) || '-{{ loop.index0 }}'), 1, 13
            ) as digits_{{ pillar }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ number_series(uncertainty.draws, 'draw') }} as draws
),

uniforms as (
    select
        draw,
        {%- for pillar in pillars %}
            {{ ratio('cast(' ~ hex_to_bigint('digits_' ~ pillar) ~ ' as double) + 0.5', 4503599627370496) }} as uniform_{{ pillar }}
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from hash_digits
),

exponentials as (
    select
        draw,
        {%- for pillar in pillars %}
            -ln(uniform_{{ pillar }}) as exponential_{{ pillar }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from uniforms
)

select
    cast(draw as integer) as draw,
    {%- for pillar in pillars %}
        {{ ratio('exponential_' ~ pillar, exponentials | join(' + ')) }} as weight_{{ pillar }}{% if not loop.last %},{% endif %}
    {%- endfor %}
from exponentials
