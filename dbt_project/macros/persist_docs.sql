{#- Model and column descriptions become DuckDB comments (persist_docs in dbt_project.yml), which
    analysts read with duckdb_tables() and duckdb_columns(). YAML's folded blocks end each
    description with a newline (and literal blocks keep line breaks), which DuckDB's CLI prints as
    a stray "\n": each comment is stored as one line, whitespace collapsed. Otherwise as dbt-duckdb
    does it: dollar-quoted, so quotes in the text need no escaping. -#}
{% macro one_line_comment(comment) -%}
  {{ duckdb_escape_comment(comment.split() | join(' ')) }}
{%- endmacro %}


{% macro duckdb__alter_relation_comment(relation, comment) %}
  comment on {{ relation.type }} {{ relation }} is {{ one_line_comment(comment) }};
{% endmacro %}


{% macro duckdb__alter_column_comment(relation, column_dict) %}
  {% set existing_columns = adapter.get_columns_in_relation(relation) | map(attribute="name") | list %}
  {% for column_name in column_dict if (column_name in existing_columns) %}
    comment on column {{ relation }}.{{ adapter.quote(column_name) if column_dict[column_name]['quote'] else column_name }} is {{ one_line_comment(column_dict[column_name]['description']) }};
  {% endfor %}
{% endmacro %}
