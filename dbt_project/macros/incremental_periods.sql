{#- Incremental quarterly (and yearly) models: which quarters (years) to (re)build.

    Every quarterly model stamps each row with last_load_id, the newest load any of its inputs'
    rows for that quarter came from. raw is append-only and _load_id increases with arrival, so a
    quarter's inputs changed exactly when some input now holds a newer load for it than the model
    recorded. Those quarters (and quarters the model does not hold yet) are rebuilt whole:
    delete+insert on period replaces every row of the quarter, so rows that a revision removed
    (a product an enterprise no longer reports) disappear too.

    inputs: list of [relation, load id column] pairs, each relation with a column named grain.
    incremental: pass is_incremental() from the model (unit tests can only override macros a model
        calls directly).
    grain: 'period' (quarterly models) or 'year' (a yearly model over stamped quarterly inputs: a
        year changed exactly when one of its quarters was rebuilt, since a rebuilt quarter's stamp
        is a load newer than every stamp the yearly model recorded).

    Returns a query of (period, last_load_id): the quarters to build with their stamp. A model
    keeps only those quarters by an inner join with it, not by `period in (select ...)` before its
    window or aggregate: DuckDB pushes the join's filter down to the scan of the big inputs, while
    the IN subquery made the producer models two to six times slower (docs/performance.md).
    Caveat: a change to a reference seed (a product moved to another area) is not a load; run
    with --full-refresh after changing seeds. -#}
{% macro periods_to_build(inputs, incremental, grain='period') %}
    select input_loads.{{ grain }}, input_loads.last_load_id
    from (
        select all_inputs.{{ grain }}, max(all_inputs.load_id) as last_load_id
        from (
            {%- for relation, load_id_column in inputs %}
            select {{ grain }}, {{ load_id_column }} as load_id from {{ relation }}
            {%- if not loop.last %}
            union all
            {%- endif %}
            {%- endfor %}
        ) as all_inputs
        group by all_inputs.{{ grain }}
    ) as input_loads
    {%- if incremental %}
    left join (
        select {{ grain }}, max(last_load_id) as last_load_id
        from {{ this }}
        group by {{ grain }}
    ) as built
        on built.{{ grain }} = input_loads.{{ grain }}
    where built.{{ grain }} is null
        or input_loads.last_load_id > built.last_load_id
    {%- endif %}
{% endmacro %}


{#- The config every incremental model uses: {{ config(**incremental_config('period')) }} for a
    quarterly model, incremental_config('year') for a yearly one.
    DuckDB: delete+insert on the grain (every row of a rebuilt quarter or year is replaced).
    Spark: the same effect is insert_overwrite of the grain's partitions (dbt-spark has no
    delete+insert) in plain Parquet tables: merge would need Delta or Iceberg. partition_by is
    what makes the overwrite replace only the rebuilt partitions (without it a failed insert
    leaves the table empty). on_schema_change='fail': a changed column list needs --full-refresh
    rather than old quarters silently keeping NULLs in a new column. -#}
{% macro incremental_config(grain) %}
    {%- if target.type == 'spark' -%}
        {{ return({
            'materialized': 'incremental',
            'incremental_strategy': 'insert_overwrite',
            'partition_by': [grain],
            'file_format': 'parquet',
            'on_schema_change': 'fail',
        }) }}
    {%- else -%}
        {{ return({
            'materialized': 'incremental',
            'incremental_strategy': 'delete+insert',
            'unique_key': grain,
            'on_schema_change': 'fail',
        }) }}
    {%- endif -%}
{% endmacro %}


{#- A filter keeping only the quarters (years) periods_to_build chooses, as constants: for a model
    that reads a view computed by group bys (int_cell_producer_quarters, int_cell_producer_years).
    DuckDB pushes the inner join with periods_to_build down to a table's scan, but not through a
    view's union of group bys: the view was then computed whole (4.4 s against 0.23 s for one
    quarter at national scale). Written as constants, the filter reaches the view's input. The
    model still joins periods_to_build for the stamps; a full build (not incremental) reads every
    quarter and needs no filter. Arguments as periods_to_build's; column is the model's column of
    the grain. -#}
{% macro only_periods_to_build(column, inputs, incremental, grain='period') %}
    {%- if execute and incremental -%}
        {%- set chosen = run_query(periods_to_build(inputs, incremental, grain)).columns[0].values() -%}
        where {{ column }} in (
            {%- for value in chosen -%}
                {{ "'" ~ value ~ "'" if value is string else value }}{{ ", " if not loop.last }}
            {%- else -%}
                null
            {%- endfor -%}
        )
    {%- endif -%}
{% endmacro %}
