{#- The tables an engine reads the ingestion's files through, declared at the start of every dbt
    run (on-run-start in dbt_project.yml).

    DuckDB: nothing to do; the ingestion keeps the raw views itself (pipelines/ingestion/raw_layer.py).
    Spark: a table over each folder the var file_sources lists (pipelines/transformation/spark.py
    makes the list): the raw layer's folder of each report kind and the Parquet copies of the
    audit tables. The tables are dropped and declared again on every run, so Spark lists the
    folders afresh (a new quarter's files) and a kind's columns follow the ingestion's contract;
    dropping a table over a path leaves its files alone. -#}
{% macro register_file_sources() %}
    {{ return(adapter.dispatch('register_file_sources')()) }}
{% endmacro %}

{% macro default__register_file_sources() %}
{% endmacro %}

{% macro spark__register_file_sources() %}
    {%- for source in var('file_sources', []) %}
        {%- set schema = source['relation'].split('.')[0] %}
        {%- set columns = '(' ~ source['columns'] ~ ')' if source['columns'] else '' %}
        {%- do run_query('create database if not exists ' ~ schema) %}
        {%- do run_query('drop table if exists ' ~ source['relation']) %}
        {%- do run_query('create table ' ~ source['relation'] ~ ' ' ~ columns ~ ' using parquet options ('
            ~ "path '" ~ source['path'] ~ "', recursiveFileLookup 'true')") %}
    {%- endfor %}
{% endmacro %}
