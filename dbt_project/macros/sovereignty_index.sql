{#- metrics.md section 5: the four pillars of the sovereignty index, in their fixed order. -#}
{% macro sovereignty_index_pillars() %}
    {{ return(['independence', 'localisation', 'technology', 'leadership']) }}
{% endmacro %}

{#- metrics.md section 5: the pillar weights of the sovereignty index, in pillar order. They are a
    setting (dbt var sovereignty_index_weights, default equal) normalised to sum to 1, so that any
    weights >= 0 can be given. -#}
{% macro sovereignty_index_weights() %}
    {%- set configured_weights = var('sovereignty_index_weights') -%}
    {%- set weights = {} -%}
    {%- for pillar in sovereignty_index_pillars() -%}
        {%- if pillar not in configured_weights or configured_weights[pillar] | float < 0 -%}
            {{ exceptions.raise_compiler_error("var sovereignty_index_weights needs a weight >= 0 for " ~ pillar) }}
        {%- endif -%}
        {%- do weights.update({pillar: configured_weights[pillar] | float}) -%}
    {%- endfor -%}
    {%- set weight_total = weights.values() | sum -%}
    {%- if weight_total <= 0 -%}
        {{ exceptions.raise_compiler_error("var sovereignty_index_weights must not all be 0") }}
    {%- endif -%}
    {%- for pillar in weights -%}
        {%- do weights.update({pillar: weights[pillar] / weight_total}) -%}
    {%- endfor -%}
    {{ return(weights) }}
{% endmacro %}

{#- metrics.md section 5, uncertainty: the seed and the number of draws of the Monte Carlo over the
    weights (dbt var sovereignty_index_uncertainty), checked to be whole numbers, draws >= 1. -#}
{% macro sovereignty_index_uncertainty() %}
    {%- set configured = var('sovereignty_index_uncertainty') -%}
    {%- for name in ['seed', 'draws'] -%}
        {%- if name not in configured or not modules.re.match('^[0-9]+$', configured[name] | string) -%}
            {{ exceptions.raise_compiler_error("var sovereignty_index_uncertainty needs a whole number >= 0 for " ~ name) }}
        {%- endif -%}
    {%- endfor -%}
    {%- if configured['draws'] | int < 1 -%}
        {{ exceptions.raise_compiler_error("var sovereignty_index_uncertainty needs draws >= 1") }}
    {%- endif -%}
    {{ return({'seed': configured['seed'] | int, 'draws': configured['draws'] | int}) }}
{% endmacro %}
