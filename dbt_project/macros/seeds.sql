{#- Seeds on Spark: dbt-spark's session connection pastes each value into the insert between
    plain quotes, so a name with an apostrophe (Côte d'Ivoire) breaks the statement, and turns
    numbers into floats first. This writes each value as an escaped string literal cast to the
    column's type instead: text arrives as written, numbers exactly as in the CSV. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) %}
    {%- set statements = [] %}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) %}
        {%- set sql %}
            insert into {{ this.render() }} values
            {%- for row in chunk %}
            ({%- for value in row -%}
                {%- set type = column_override.get(agate_table.column_names[loop.index0], adapter.convert_type(agate_table, loop.index0)) -%}
                {%- if value is none -%}
                    cast(null as {{ type }})
                {%- else -%}
                    cast('{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}' as {{ type }})
                {%- endif -%}
                {%- if not loop.last %}, {% endif -%}
            {%- endfor -%})
            {%- if not loop.last %},{% endif %}
            {%- endfor %}
        {%- endset %}
        {%- do adapter.add_query(sql, abridge_sql_log=True) %}
        {%- do statements.append(sql) if loop.first %}
    {%- endfor %}
    {{ return(statements[0]) }}
{% endmacro %}
