{#- Use the layer's schema name as is (staging, intermediate, marts, reference) instead of
    dbt's default <target_schema>_<custom_schema>: analysts and the spec name these schemas. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
