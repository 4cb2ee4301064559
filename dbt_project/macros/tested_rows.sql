{#- The relation a data test reads: dbt's own (the table, or the rows its `where` config keeps),
    and for a table of an incremental model on DuckDB only the rows no build has passed yet: those
    the running build writes (and those of a build that failed since).

    A build rewrites the quarters (years) whose inputs hold newer loads, and every row it keeps
    passed the tests of an earlier build; testing those again made an incremental quarter's tests
    scan whole tables (the uniqueness of int_cell_producer_quarters' 25 million rows, a table then,
    took 6 s). After a build that succeeded, the pipeline's dbt step records in audit.tested_rows the
    newest last_load_id up to which each incremental table passed its tests, and the next build
    tests the rows above it (pipelines/transformation/builds.py says why those are exactly the
    rewritten ones); a table without a record is tested whole. Only `dbt build` (the pipeline's
    command) is limited so: `dbt test` by hand, a --full-refresh, a warehouse without
    audit.tested_rows and Spark test whole tables. A project's macro takes the place of dbt's own
    of the same name. -#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- if config.get('where') -%}
        {%- do conditions.append(config.get('where')) -%}
    {%- endif -%}
    {%- set rewritten = rewritten_rows_condition(relation) -%}
    {%- if rewritten -%}
        {%- do conditions.append(rewritten) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}


{% macro rewritten_rows_condition(relation) -%}
    {%- if target.type != 'duckdb' or flags.WHICH != 'build' or flags.FULL_REFRESH or not execute -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and node.config.materialized == 'incremental'
                and node.schema == relation.schema and node.alias == relation.identifier -%}
            {%- set tested = adapter.get_relation(database=relation.database, schema='audit', identifier='tested_rows') -%}
            {%- if tested is none -%}
                {%- do return(none) -%}
            {%- endif -%}
            {%- do return("last_load_id > coalesce((select max(through_load_id) from " ~ tested ~ " where table_name = '"
                ~ node.schema ~ "." ~ node.alias ~ "'), -1)") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do return(none) -%}
{%- endmacro %}
