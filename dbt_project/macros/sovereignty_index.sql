{#- metrics.md section 5: the pillar weights of the sovereignty index, in pillar order. They are a
    setting (dbt var sovereignty_index_weights, default equal) normalised to sum to 1, so that any
    weights >= 0 can be given. -#}
{% macro sovereignty_index_weights() %}
    {%- set configured_weights = var('sovereignty_index_weights') -%}
    {%- set weights = {} -%}
    {%- for pillar in ['independence', 'localisation', 'technology', 'leadership'] -%}
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
