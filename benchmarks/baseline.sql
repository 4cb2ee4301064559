-- =================================================================================================
-- Baseline for the pipeline benchmark: one hand-written DuckDB script.
--
-- It reads the same raw report files as the pipeline (an inbox laid out as <inbox>/<kind>/<file>)
-- and computes the same four marts: marts.product_independence, marts.area_independence,
-- marts.product_leadership and marts.area_leadership. No orchestration, no audit trail, no
-- quality checks, no publication: only what it takes for the numbers to come out equal
-- (tests/test_baseline.py compares them with the pipeline's on the small demo).
--
-- Only the four report kinds these marts depend on are read: producer, trade, benchmarks and
-- characteristics (regional reports and targets feed other marts).
--
-- Variables, set before the script runs (benchmarks/baseline.py does it; by hand in the DuckDB
-- CLI: SET VARIABLE inbox = '/path/to/home/inbox'; ...):
--   inbox     the inbox directory
--   seeds     dbt_project/seeds: the reference catalogues, read straight from their CSV files
--   work_dir  a scratch directory holding the runner's UTF-8 CSV copies of the files DuckDB cannot
--             read natively (CP1251 CSV, XLSX), listed in <work_dir>/conversions.csv
--   today     DATE: "now" for the rules period.in_future and year.out_of_range
--
-- Where this script mirrors pipeline code, the comments name it: pipelines/ingestion/readers.py (formats),
-- pipelines/ingestion/validation.py (row rules), pipelines/ingestion/ingest.py (arrival order, duplicates),
-- dbt_project/models (staging, intermediate, marts) and dbt_project/macros.
--
-- Not reproduced: the pipeline's last_load_id column (bookkeeping of its incremental builds,
-- numbered across all kinds in the order the orchestrator ran them) and everything that only
-- matters for the audit trail (quarantine reasons, rule counts, soft flags, skipped-row counts).
-- Known limits of the baseline, none of which occurs in the demo: at most 32 columns per CSV or
-- XLSX file, and a CSV file that is malformed (an unterminated quote) makes the whole script fail
-- where the pipeline rejects that one file.
-- =================================================================================================


-- -------------------------------------------------------------------------------------------------
-- 1. Cell parsing, as pipelines/ingestion/validation.py does it (the same regular expressions)
-- -------------------------------------------------------------------------------------------------

-- Whitespace as the pipeline's Polars/Rust regexes see it (Unicode White_Space: \s there is
-- Unicode-aware, here it is not), so that NBSP and narrow NBSP thousands separators go too.
create or replace temp macro ws() as
    '[\t\n\x0B\f\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]';

-- Every cell is trimmed (readers.finish), and a cell of spaces only is empty, i.e. NULL.
create or replace temp macro strip(s) as nullif(regexp_replace(s, '^' || ws() || '+|' || ws() || '+$', '', 'g'), '');

-- Header cells match case-insensitively after trimming and folding inner spaces
-- (readers.normalise_header: Python's split() also splits on the separators \x1C-\x1F).
create or replace temp macro header_key(s) as
    lower(strip(regexp_replace(s, '(' || ws() || '|[\x1C-\x1F])+', ' ', 'g')));

-- Numbers: spaces of any kind are thousands separators, the first ',' is the decimal point, and a
-- lone dash means zero (the Russian statistical convention). NULL when the text is not a number.
create or replace temp macro number_text(s) as regexp_replace(
    case when regexp_replace(s, ws(), '', 'g') in ('-', '–', '—') then '0'
         else regexp_replace(s, ws(), '', 'g') end,
    ',', '.');
create or replace temp macro parse_number(s) as
    case when regexp_matches(number_text(s), '^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$')
        then try_cast(number_text(s) as double) end;
create or replace temp macro parse_integer(s) as
    case when parse_number(s) = round(parse_number(s)) then try_cast(parse_number(s) as bigint) end;
-- Money is DECIMAL(18,3) in raw: a value of 10^15 or more does not fit (rule <column>.too_large).
create or replace temp macro to_money(x) as case when abs(x) < 1e15 then cast(x as decimal(18, 3)) end;

-- Quarters in every spelling of inputs.md, as the canonical '2025-Q1' (pipelines/ingestion/periods.py: the
-- first pattern that matches wins). Whitespace runs are folded to one space first.
create or replace temp macro quarter_text(s) as trim(regexp_replace(s, ws() || '+', ' ', 'g'));
create or replace temp macro parse_quarter(s) as case
    when regexp_matches(quarter_text(s), '(?i)^([0-9]{4})\s*-?\s*[QqКк]([1-4])$')
        then regexp_replace(quarter_text(s), '(?i)^([0-9]{4})\s*-?\s*[QqКк]([1-4])$', '\1-Q\2')
    when regexp_matches(quarter_text(s), '(?i)^[QqКк]([1-4])\s*-?\s*([0-9]{4})$')
        then regexp_replace(quarter_text(s), '(?i)^[QqКк]([1-4])\s*-?\s*([0-9]{4})$', '\2-Q\1')
    when regexp_matches(quarter_text(s), '(?i)^([1-4])\s*(?:кв\.?|квартал)\s*([0-9]{4})(?:\s*г\.?)?$')
        then regexp_replace(quarter_text(s), '(?i)^([1-4])\s*(?:кв\.?|квартал)\s*([0-9]{4})(?:\s*г\.?)?$', '\2-Q\1')
    when regexp_matches(quarter_text(s), '(?i)^(IV|I{1,3})\s*(?:кв\.?|квартал)\s*([0-9]{4})(?:\s*г\.?)?$')
        then regexp_replace(quarter_text(s), '(?i)^(IV|I{1,3})\s*(?:кв\.?|квартал)\s*([0-9]{4})(?:\s*г\.?)?$', '\2')
            || '-Q' || list_position(['I', 'II', 'III', 'IV'],
                upper(regexp_replace(quarter_text(s), '(?i)^(IV|I{1,3})\s*(?:кв\.?|квартал)\s*([0-9]{4})(?:\s*г\.?)?$', '\1')))
end;

-- Dates: YYYY-MM-DD or DD.MM.YYYY, looking at the first 10 characters (XLSX date cells arrive as
-- '2025-01-31 00:00:00').
create or replace temp macro parse_date(s) as cast(coalesce(
    try_strptime(left(s, 10), '%Y-%m-%d'), try_strptime(left(s, 10), '%d.%m.%Y')) as date);

-- Codes a spreadsheet may have stored as numbers ('796.0'): the '.0' is the reader's, not the sender's.
create or replace temp macro numeric_code(s) as regexp_replace(s, '^([0-9]+)\.0$', '\1');
-- inputs.md: region '1' is read as '01'.
create or replace temp macro region_code_value(s) as
    case when length(numeric_code(s)) < 2 then lpad(numeric_code(s), 2, '0') else numeric_code(s) end;

-- INN check digits (pipelines/ingestion/inn.py): weights over the leading digits, sum mod 11 mod 10.
create or replace temp macro inn_check_digit(digits, weights) as
    cast(list_dot_product(cast(string_split(digits, '') as double[]), cast(weights as double[])) as bigint) % 11 % 10;
create or replace temp macro inn_is_valid(inn) as case
    when regexp_matches(inn, '^[0-9]{10}$') then
        inn_check_digit(left(inn, 9), [2, 4, 10, 3, 5, 9, 4, 6, 8]) = cast(substr(inn, 10, 1) as bigint)
    when regexp_matches(inn, '^[0-9]{12}$') then
        inn_check_digit(left(inn, 10), [7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) = cast(substr(inn, 11, 1) as bigint)
        and inn_check_digit(left(inn, 11), [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) = cast(substr(inn, 12, 1) as bigint)
    else false
end;


-- -------------------------------------------------------------------------------------------------
-- 2. Reference catalogues (the dbt seeds) and the input contract (pipelines/ingestion/contracts.py)
-- -------------------------------------------------------------------------------------------------

-- All text, so that codes keep their leading zeros ('01', '006').
create or replace temp table products as
    select * from read_csv(getvariable('seeds') || '/products.csv', header = true, all_varchar = true);
create or replace temp table priority_areas as
    select project_code, cast(available_from_year as integer) as available_from_year
    from read_csv(getvariable('seeds') || '/priority_areas.csv', header = true, all_varchar = true);
create or replace temp table regions as
    select * from read_csv(getvariable('seeds') || '/regions.csv', header = true, all_varchar = true);
create or replace temp table units as
    select * from read_csv(getvariable('seeds') || '/units.csv', header = true, all_varchar = true);
create or replace temp table countries as
    select * from read_csv(getvariable('seeds') || '/countries.csv', header = true, all_varchar = true);

-- The columns of the four kinds read here, with their Russian aliases. may_be_absent: the column
-- may be missing from a file's header; any other missing column rejects the whole file.
create or replace temp table contract (kind, column_name, alias_ru, may_be_absent) as values
    ('producer', 'period', 'период', false),
    ('producer', 'inn', 'инн', false),
    ('producer', 'enterprise_name', 'наименование', false),
    ('producer', 'region_code', 'код_региона', false),
    ('producer', 'okved2', 'оквэд2', false),
    ('producer', 'okpd2', 'окпд2', false),
    ('producer', 'output_qty', 'выпуск_натур', false),
    ('producer', 'okei', 'океи', false),
    ('producer', 'output_value', 'выпуск_тыс_руб', false),
    ('producer', 'export_value', 'экспорт_тыс_руб', true),
    ('producer', 'components_cost', 'комплектующие_тыс_руб', false),
    ('producer', 'imported_components_cost', 'импорт_комплектующих_тыс_руб', false),
    ('producer', 'technology_origin', 'происхождение_технологии', false),
    ('producer', 'rnd_expenses', 'ниокр_тыс_руб', true),
    ('producer', 'employees', 'численность', false),
    ('producer', 'trl', 'угт', true),
    ('trade', 'period', 'период', false),
    ('trade', 'okpd2', 'окпд2', false),
    ('trade', 'partner_country', 'страна', false),
    ('trade', 'flow', 'направление', false),
    ('trade', 'value', 'стоимость_тыс_руб', false),
    ('characteristics', 'year', 'год', false),
    ('characteristics', 'inn', 'инн', false),
    ('characteristics', 'okpd2', 'окпд2', false),
    ('characteristics', 'parameter_code', 'код_параметра', false),
    ('characteristics', 'value', 'значение', false),
    ('benchmarks', 'okpd2', 'окпд2', false),
    ('benchmarks', 'parameter_code', 'код_параметра', false),
    ('benchmarks', 'parameter_name', 'параметр', false),
    ('benchmarks', 'unit', 'ед_изм', false),
    ('benchmarks', 'direction', 'направление', false),
    ('benchmarks', 'weight', 'вес', false),
    ('benchmarks', 'best_value', 'лучшее_значение', false),
    ('benchmarks', 'analogue', 'аналог', false),
    ('benchmarks', 'valid_from', 'действует_с', false);

-- A header cell names a column by its English or its Russian name.
create or replace temp table header_names as
    select kind, column_name, column_name as header_key from contract
    union
    select kind, column_name, alias_ru from contract;

-- Enumerations: the accepted spellings (any case) -> the canonical value; NULL when not accepted.
create or replace temp macro technology_origin_value(s) as case lower(s)
    when 'domestic' then 'domestic' when 'licensed' then 'licensed' when 'foreign' then 'foreign'
    when 'отечественная' then 'domestic' when 'лицензионная' then 'licensed' when 'иностранная' then 'foreign'
end;
create or replace temp macro flow_value(s) as case lower(s)
    when 'import' then 'import' when 'export' then 'export' when 'импорт' then 'import' when 'экспорт' then 'export'
end;
create or replace temp macro direction_value(s) as case lower(s)
    when 'higher' then 'higher' when 'lower' then 'lower' when 'больше' then 'higher' when 'меньше' then 'lower'
end;


-- -------------------------------------------------------------------------------------------------
-- 3. The files: arrival order, duplicates, formats, whole-file rejections (pipelines/ingestion/ingest.py)
-- -------------------------------------------------------------------------------------------------

-- What the runner converted: CP1251 CSV and XLSX files, each as a UTF-8 CSV copy. converted_path is
-- empty when the file could not be read at all (not valid CP1251, not a workbook): rejected whole.
create or replace temp table conversions as
    select * from read_csv(getvariable('work_dir') || '/conversions.csv', header = true, auto_detect = false,
        columns = {'kind': 'VARCHAR', 'file_name': 'VARCHAR', 'encoding': 'VARCHAR', 'converted_path': 'VARCHAR'});

-- Empty stand-ins, so that every read below has at least one file to read.
copy (select 1 as no_file where false) to (getvariable('work_dir') || '/none.csv') (header false);
copy (select cast(null as varchar) as no_file where false) to (getvariable('work_dir') || '/none.parquet') (format parquet);

create or replace temp table inbox_files as
with delivered as (
    select
        filename as path,
        parse_filename(parse_dirpath(filename)) as kind,
        parse_filename(filename) as file_name,
        last_modified,
        sha256(content) as sha256,
        -- A Parquet file starts and ends with the magic bytes PAR1; anything else is unreadable.
        octet_length(content) >= 8 and (content)[1:4] = 'PAR1'::blob and (content)[-4:] = 'PAR1'::blob as parquet_magic
    from read_blob(getvariable('inbox') || '/*/*')
),

arrived as (
    select
        delivered.*,
        -- Arrival order: modification time, then name (ingest.pending_files). Later arrivals revise
        -- earlier ones.
        row_number() over (partition by kind order by last_modified, file_name) as arrival,
        lower(regexp_extract(file_name, '\.[^.]*$')) as extension
    from delivered
    -- Names starting with '.' are uploads in progress.
    where kind in ('producer', 'trade', 'benchmarks', 'characteristics') and file_name not like '.%'
)

select
    arrived.*,
    -- The same bytes delivered again (per kind) change nothing: only the first delivery counts.
    row_number() over (partition by arrived.kind, arrived.sha256 order by arrived.arrival) > 1 as is_duplicate,
    case arrived.extension when '.csv' then 'csv' when '.xlsx' then 'xlsx' when '.parquet' then 'parquet' end as format,
    case
        when arrived.extension = '.parquet' then arrived.path
        when conversions.file_name is not null then nullif(conversions.converted_path, '')
        when arrived.extension = '.csv' then arrived.path  -- UTF-8 (with or without BOM): read as it is
    end as readable_path
from arrived
left join conversions
    on conversions.kind = arrived.kind
    and conversions.file_name = arrived.file_name;

-- The text of every CSV file, to reject files the pipeline rejects and to choose the delimiter:
-- ';' or ',', whichever splits the header line more, quoted parts aside (readers.detect_delimiter).
-- (File lists are passed to the readers in variables: a table function takes no subquery. Each
-- list ends with an empty stand-in file, so that no list is empty.)
set variable csv_paths = (
    select list_append(list(readable_path), getvariable('work_dir') || '/none.csv')
    from inbox_files
    where format = 'csv' and not is_duplicate and readable_path is not null);

create or replace temp table csv_files as
with text_files as (
    select filename as readable_path, decode(content) as text
    from read_blob(getvariable('csv_paths'))
),

header_lines as (
    select
        readable_path,
        text,
        regexp_replace(split_part(text, chr(10), 1), '"[^"]*"', '', 'g') as unquoted_header
    from text_files
)

select
    readable_path,
    -- A NUL byte means this is not a text file; a file of whitespace has no header.
    contains(text, chr(0)) or regexp_full_match(text, ws() || '*') as is_rejected,
    case
        when length(unquoted_header) - length(replace(unquoted_header, ';', ''))
            >= length(unquoted_header) - length(replace(unquoted_header, ',', ''))
            and contains(unquoted_header, ';')
        then ';' else ','
    end as delimiter
from header_lines;

-- The files that are read: accepted extension, not a duplicate, readable.
create or replace temp table readable_files as
select
    inbox_files.kind,
    inbox_files.file_name,
    inbox_files.arrival,
    inbox_files.format,
    inbox_files.readable_path,
    -- XLSX copies are written by the runner with ',' as delimiter.
    coalesce(csv_files.delimiter, ',') as delimiter
from inbox_files
left join csv_files
    on csv_files.readable_path = inbox_files.readable_path
where not inbox_files.is_duplicate
    and inbox_files.format is not null
    and inbox_files.readable_path is not null
    and (inbox_files.format <> 'parquet' or inbox_files.parquet_magic)
    and not coalesce(csv_files.is_rejected, false);


-- -------------------------------------------------------------------------------------------------
-- 4. Reading the cells: every row of every file as a list of text cells
-- -------------------------------------------------------------------------------------------------

-- CSV files and the XLSX copies, without a header (it is found below), every cell as text. The
-- two delimiters need two reads. Up to 32 columns (files differ in width: a fixed list, shorter
-- rows padded with NULL, keeps one shape for all). Rows keep the file's order: row_number() over ()
-- numbers them in scan order, which DuckDB preserves.
set variable text_columns = {
    'c01': 'VARCHAR', 'c02': 'VARCHAR', 'c03': 'VARCHAR', 'c04': 'VARCHAR', 'c05': 'VARCHAR', 'c06': 'VARCHAR',
    'c07': 'VARCHAR', 'c08': 'VARCHAR', 'c09': 'VARCHAR', 'c10': 'VARCHAR', 'c11': 'VARCHAR', 'c12': 'VARCHAR',
    'c13': 'VARCHAR', 'c14': 'VARCHAR', 'c15': 'VARCHAR', 'c16': 'VARCHAR', 'c17': 'VARCHAR', 'c18': 'VARCHAR',
    'c19': 'VARCHAR', 'c20': 'VARCHAR', 'c21': 'VARCHAR', 'c22': 'VARCHAR', 'c23': 'VARCHAR', 'c24': 'VARCHAR',
    'c25': 'VARCHAR', 'c26': 'VARCHAR', 'c27': 'VARCHAR', 'c28': 'VARCHAR', 'c29': 'VARCHAR', 'c30': 'VARCHAR',
    'c31': 'VARCHAR', 'c32': 'VARCHAR'};
set variable semicolon_files = (
    select list_append(list(readable_path), getvariable('work_dir') || '/none.csv')
    from readable_files where format in ('csv', 'xlsx') and delimiter = ';');
set variable comma_files = (
    select list_append(list(readable_path), getvariable('work_dir') || '/none.csv')
    from readable_files where format in ('csv', 'xlsx') and delimiter = ',');
set variable parquet_files = (
    select list_append(list(readable_path), getvariable('work_dir') || '/none.parquet')
    from readable_files where format = 'parquet');

create or replace temp table text_rows as
select filename as readable_path, row_number() over () as line, list_value(*columns('^c[0-9]+$')) as cells
from read_csv(
    getvariable('semicolon_files'),
    delim = ';', quote = '"', escape = '"', header = false, auto_detect = false, null_padding = true,
    parallel = false, filename = true,
    columns = getvariable('text_columns'));

insert into text_rows
select filename, row_number() over (), list_value(*columns('^c[0-9]+$'))
from read_csv(
    getvariable('comma_files'),
    delim = ',', quote = '"', escape = '"', header = false, auto_detect = false, null_padding = true,
    parallel = false, filename = true,
    columns = getvariable('text_columns'));

-- Parquet files: the values as text (they are parsed by the same rules as CSV cells), the columns of
-- all files side by side.
create or replace temp table parquet_values as
select filename as readable_path, file_row_number, columns(* exclude (filename, file_row_number))::varchar
from read_parquet(
    getvariable('parquet_files'),
    union_by_name = true, filename = true, file_row_number = true);

-- Every row of every readable file: (file, row in file, cells). Parquet files get a header row 0
-- made of their column names, in the same positions as their values.
create or replace temp table file_rows as
select
    readable_files.kind,
    readable_files.file_name,
    readable_files.arrival,
    readable_files.format,
    text_rows.line - min(text_rows.line) over (partition by text_rows.readable_path) + 1 as row_in_file,
    text_rows.cells
from text_rows
inner join readable_files
    on readable_files.readable_path = text_rows.readable_path;

insert into file_rows
with union_columns as (
    select list(column_name order by column_index) as names
    from duckdb_columns()
    where database_name = 'temp' and table_name = 'parquet_values'
        and column_name not in ('readable_path', 'file_row_number')
),

present_columns as (
    select file_name as readable_path, list(name) as names
    from parquet_schema(getvariable('parquet_files'))
    where num_children is null
    group by file_name
)

select
    readable_files.kind, readable_files.file_name, readable_files.arrival, readable_files.format,
    0 as row_in_file,
    list_transform(union_columns.names, lambda name: case when list_contains(present_columns.names, name) then name end)
from readable_files
inner join present_columns
    on present_columns.readable_path = readable_files.readable_path
cross join union_columns
union all
select
    readable_files.kind, readable_files.file_name, readable_files.arrival, readable_files.format,
    parquet_rows.file_row_number + 1,
    parquet_rows.cells
from (
    select readable_path, file_row_number, list_value(*columns(* exclude (readable_path, file_row_number))) as cells
    from parquet_values
) as parquet_rows
inner join readable_files
    on readable_files.readable_path = parquet_rows.readable_path;


-- -------------------------------------------------------------------------------------------------
-- 5. Headers: which cell holds which column (readers.header_mapping), whole-file rejections
-- -------------------------------------------------------------------------------------------------

-- Header candidates: CSV, the first record; XLSX, any of the first 30 rows (a form title may sit
-- above the header); Parquet, the column names.
create or replace temp table header_matches as
select
    candidates.kind, candidates.file_name, candidates.row_in_file,
    header_names.column_name, candidates.position
from (
    select kind, file_name, format, row_in_file, unnest(cells) as cell, generate_subscripts(cells, 1) as position
    from file_rows
    where (format = 'csv' and row_in_file = 1)
        or (format = 'xlsx' and row_in_file <= 30)
        or (format = 'parquet' and row_in_file = 0)
) as candidates
inner join header_names
    on header_names.kind = candidates.kind
    and header_names.header_key = header_key(candidates.cell);

-- The header row is the first candidate naming any column; a column named twice is taken from its
-- first position.
create or replace temp table column_positions as
with header_rows as (
    select kind, file_name, min(row_in_file) as header_row
    from header_matches
    group by kind, file_name
)

select header_matches.kind, header_matches.file_name, header_rows.header_row,
       header_matches.column_name, min(header_matches.position) as position
from header_matches
inner join header_rows
    on header_rows.kind = header_matches.kind
    and header_rows.file_name = header_matches.file_name
    and header_rows.header_row = header_matches.row_in_file
group by all;

-- A file without a recognisable header, or missing a column that may not be absent, is rejected
-- whole (readers.check_required_columns).
create or replace temp table accepted_files as
select readable_files.kind, readable_files.file_name, readable_files.arrival, readable_files.format,
       any_value(column_positions.header_row) as header_row
from readable_files
inner join column_positions
    on column_positions.kind = readable_files.kind
    and column_positions.file_name = readable_files.file_name
inner join contract
    on contract.kind = column_positions.kind
    and contract.column_name = column_positions.column_name
group by readable_files.kind, readable_files.file_name, readable_files.arrival, readable_files.format
having count(*) filter (where not contract.may_be_absent)
    = (select count(*) from contract as required where required.kind = readable_files.kind and not required.may_be_absent);

-- The data rows: below the header. In XLSX files, trailing rows whose first cell starts with
-- Итого/Total are totals, not data (readers.split_trailing_totals).
create or replace temp table data_rows as
with below_header as (
    select
        file_rows.*,
        file_rows.format = 'xlsx'
            and coalesce(regexp_matches(file_rows.cells[1], '(?i)^' || ws() || '*(итого|total)'), false) as is_total,
        len(list_filter(file_rows.cells, lambda cell: cell is not null)) = 0 as is_blank
    from file_rows
    inner join accepted_files
        on accepted_files.kind = file_rows.kind
        and accepted_files.file_name = file_rows.file_name
    where file_rows.row_in_file > accepted_files.header_row
),

last_content as (
    select kind, file_name, max(row_in_file) filter (where not is_total and not is_blank) as last_content_row
    from below_header
    group by kind, file_name
)

select below_header.kind, below_header.file_name, below_header.arrival, below_header.row_in_file, below_header.cells
from below_header
inner join last_content
    on last_content.kind = below_header.kind
    and last_content.file_name = below_header.file_name
where not (below_header.is_total and below_header.row_in_file > coalesce(last_content.last_content_row, 0));


-- -------------------------------------------------------------------------------------------------
-- 6. Rows loaded: typed values, and only the rows that break no hard rule (pipelines/ingestion/validation.py)
--
-- A row breaking a hard rule is quarantined by the pipeline: it never reaches the marts. So here a
-- row is kept when every hard rule holds; a rule on a NULL value holds (Polars fill_null(False)).
-- Blank rows need no rule of their own: they lack the required values.
-- -------------------------------------------------------------------------------------------------

create or replace temp macro current_quarter() as
    year(getvariable('today')) || '-Q' || quarter(getvariable('today'));

-- producer --------------------------------------------------------------------------------------
create or replace temp table raw_producer as
with cells as (
    select
        data_rows.arrival,
        data_rows.row_in_file,
        strip(data_rows.cells[positions.period]) as period,
        strip(data_rows.cells[positions.inn]) as inn,
        strip(data_rows.cells[positions.enterprise_name]) as enterprise_name,
        strip(data_rows.cells[positions.region_code]) as region_code,
        strip(data_rows.cells[positions.okved2]) as okved2,
        strip(data_rows.cells[positions.okpd2]) as okpd2,
        strip(data_rows.cells[positions.output_qty]) as output_qty,
        strip(data_rows.cells[positions.okei]) as okei,
        strip(data_rows.cells[positions.output_value]) as output_value,
        strip(data_rows.cells[positions.export_value]) as export_value,
        strip(data_rows.cells[positions.components_cost]) as components_cost,
        strip(data_rows.cells[positions.imported_components_cost]) as imported_components_cost,
        strip(data_rows.cells[positions.technology_origin]) as technology_origin,
        strip(data_rows.cells[positions.rnd_expenses]) as rnd_expenses,
        strip(data_rows.cells[positions.employees]) as employees,
        strip(data_rows.cells[positions.trl]) as trl
    from data_rows
    inner join (
        pivot (select file_name, column_name, position from column_positions where kind = 'producer')
        on column_name in ('period', 'inn', 'enterprise_name', 'region_code', 'okved2', 'okpd2', 'output_qty',
                           'okei', 'output_value', 'export_value', 'components_cost', 'imported_components_cost',
                           'technology_origin', 'rnd_expenses', 'employees', 'trl')
        using any_value(position)
    ) as positions
        on positions.file_name = data_rows.file_name
    where data_rows.kind = 'producer'
),

typed as (
    select
        *,
        parse_quarter(period) as period_value,
        numeric_code(inn) as inn_value,
        region_code_value(region_code) as region_value,
        numeric_code(okei) as okei_value,
        parse_number(output_qty) as output_qty_value,
        parse_number(output_value) as output_value_value,
        -- inputs.md: a missing export_value / rnd_expenses means zero (an unreadable one is an error)
        case when export_value is null then 0 else parse_number(export_value) end as export_value_value,
        parse_number(components_cost) as components_cost_value,
        parse_number(imported_components_cost) as imported_value,
        technology_origin_value(technology_origin) as technology_origin_value,
        case when rnd_expenses is null then 0 else parse_number(rnd_expenses) end as rnd_expenses_value,
        parse_integer(employees) as employees_value,
        parse_integer(trl) as trl_value
    from cells
)

select
    arrival,
    row_in_file,
    period_value as period,
    inn_value as inn,
    region_value as region_code,
    okpd2,
    to_money(output_value_value) as output_value,
    to_money(components_cost_value) as components_cost,
    to_money(imported_value) as imported_components_cost,
    technology_origin_value as technology_origin,
    to_money(rnd_expenses_value) as rnd_expenses
from typed
where
    -- period: required, a quarter, from 2000-Q1, not in the future
    period_value is not null and period_value between '2000-Q1' and current_quarter()
    -- inn: 10 or 12 digits with valid check digits
    and inn_is_valid(inn_value)
    -- enterprise_name: required, at most 500 characters
    and enterprise_name is not null and length(enterprise_name) <= 500
    -- codes: in the catalogues; okved2 by pattern
    and region_value in (select region_code from regions)
    and regexp_matches(okved2, '^[0-9]{2}(\.[0-9]{1,2}(\.[0-9]{1,2})?)?$')
    and okpd2 in (select okpd2 from products)
    and okei_value in (select okei from units)
    -- money: required (export and R&D may be empty), a number, fits DECIMAL(18,3), not negative
    and output_qty_value is not null and abs(output_qty_value) < 1e15 and output_qty_value >= 0
    and output_value_value is not null and abs(output_value_value) < 1e15 and output_value_value >= 0
    and export_value_value is not null and abs(export_value_value) < 1e15 and export_value_value >= 0
    and components_cost_value is not null and abs(components_cost_value) < 1e15 and components_cost_value >= 0
    and imported_value is not null and abs(imported_value) < 1e15 and imported_value >= 0
    and rnd_expenses_value is not null and abs(rnd_expenses_value) < 1e15 and rnd_expenses_value >= 0
    and imported_value <= components_cost_value
    -- technology_origin: an accepted spelling
    and technology_origin_value is not null
    -- employees: optional, a whole number, not negative; trl: optional, 1..9
    and (employees is null or (employees_value is not null and employees_value >= 0))
    and (trl is null or (trl_value is not null and trl_value between 1 and 9));

-- trade -----------------------------------------------------------------------------------------
create or replace temp table raw_trade as
with cells as (
    select
        data_rows.arrival,
        data_rows.row_in_file,
        strip(data_rows.cells[positions.period]) as period,
        strip(data_rows.cells[positions.okpd2]) as okpd2,
        strip(data_rows.cells[positions.partner_country]) as partner_country,
        strip(data_rows.cells[positions.flow]) as flow,
        strip(data_rows.cells[positions.value]) as value
    from data_rows
    inner join (
        pivot (select file_name, column_name, position from column_positions where kind = 'trade')
        on column_name in ('period', 'okpd2', 'partner_country', 'flow', 'value')
        using any_value(position)
    ) as positions
        on positions.file_name = data_rows.file_name
    where data_rows.kind = 'trade'
),

typed as (
    select
        arrival, row_in_file, okpd2, partner_country,
        parse_quarter(period) as period,
        flow_value(flow) as flow,
        parse_number(value) as value
    from cells
)

select arrival, row_in_file, period, okpd2, partner_country, flow, to_money(value) as value
from typed
where period is not null and period between '2000-Q1' and current_quarter()
    and okpd2 in (select okpd2 from products)
    and partner_country in (select country_code from countries)
    and flow is not null
    and value is not null and abs(value) < 1e15 and value >= 0;

-- benchmarks ------------------------------------------------------------------------------------
create or replace temp table raw_benchmarks as
with cells as (
    select
        data_rows.arrival,
        data_rows.row_in_file,
        strip(data_rows.cells[positions.okpd2]) as okpd2,
        strip(data_rows.cells[positions.parameter_code]) as parameter_code,
        strip(data_rows.cells[positions.parameter_name]) as parameter_name,
        strip(data_rows.cells[positions.unit]) as unit,
        strip(data_rows.cells[positions.direction]) as direction,
        strip(data_rows.cells[positions.weight]) as weight,
        strip(data_rows.cells[positions.best_value]) as best_value,
        strip(data_rows.cells[positions.analogue]) as analogue,
        strip(data_rows.cells[positions.valid_from]) as valid_from
    from data_rows
    inner join (
        pivot (select file_name, column_name, position from column_positions where kind = 'benchmarks')
        on column_name in ('okpd2', 'parameter_code', 'parameter_name', 'unit', 'direction', 'weight',
                           'best_value', 'analogue', 'valid_from')
        using any_value(position)
    ) as positions
        on positions.file_name = data_rows.file_name
    where data_rows.kind = 'benchmarks'
),

typed as (
    select
        arrival, row_in_file, okpd2, parameter_code, parameter_name, unit, analogue,
        direction_value(direction) as direction,
        parse_number(weight) as weight,
        parse_number(best_value) as best_value,
        parse_date(valid_from) as valid_from
    from cells
)

select arrival, row_in_file, okpd2, parameter_code, direction, weight, best_value, valid_from
from typed
where okpd2 in (select okpd2 from products)
    and parameter_code is not null and parameter_name is not null and unit is not null and analogue is not null
    and direction is not null
    and weight > 0
    and best_value > 0
    and valid_from is not null;

-- characteristics -------------------------------------------------------------------------------
create or replace temp table raw_characteristics as
with cells as (
    select
        data_rows.arrival,
        data_rows.row_in_file,
        strip(data_rows.cells[positions.year]) as year,
        strip(data_rows.cells[positions.inn]) as inn,
        strip(data_rows.cells[positions.okpd2]) as okpd2,
        strip(data_rows.cells[positions.parameter_code]) as parameter_code,
        strip(data_rows.cells[positions.value]) as value
    from data_rows
    inner join (
        pivot (select file_name, column_name, position from column_positions where kind = 'characteristics')
        on column_name in ('year', 'inn', 'okpd2', 'parameter_code', 'value')
        using any_value(position)
    ) as positions
        on positions.file_name = data_rows.file_name
    where data_rows.kind = 'characteristics'
),

typed as (
    select
        arrival, row_in_file, okpd2, parameter_code,
        parse_integer(year) as year,
        numeric_code(inn) as inn,
        parse_number(value) as value
    from cells
)

select arrival, row_in_file, year, inn, okpd2, parameter_code, value
from typed
where year between 2000 and year(getvariable('today'))
    and inn_is_valid(inn)
    and okpd2 in (select okpd2 from products)
    -- a parameter of that product in the benchmarks loaded (the pipeline ingests benchmarks first)
    and exists (select 1 from raw_benchmarks as b where b.okpd2 = typed.okpd2 and b.parameter_code = typed.parameter_code)
    and value > 0;


-- -------------------------------------------------------------------------------------------------
-- 7. Revisions: the rows in force (dbt staging models, macros/revisions.sql)
-- -------------------------------------------------------------------------------------------------

-- producer: per (inn, period), every row of the latest file that reported that enterprise and quarter.
create or replace temp table stg_producer as
select
    period,
    cast(substring(period, 1, 4) as integer) as year,
    cast(substring(period, 7, 1) as integer) as quarter,
    inn, okpd2, region_code, output_value, components_cost, imported_components_cost, technology_origin,
    rnd_expenses
from (
    select *, max(arrival) over (partition by inn, period) as latest_arrival
    from raw_producer
)
where arrival = latest_arrival;

-- trade: per quarter, every row of the latest file carrying that quarter.
create or replace temp table stg_trade as
select
    period,
    cast(substring(period, 1, 4) as integer) as year,
    cast(substring(period, 7, 1) as integer) as quarter,
    okpd2, partner_country, flow, value as customs_value
from (
    select *, max(arrival) over (partition by period) as latest_arrival
    from raw_trade
)
where arrival = latest_arrival;

-- benchmarks and characteristics: one value per key, the latest file's (its later row within a file).
create or replace temp table stg_benchmarks as
select okpd2, parameter_code, direction, weight, best_value, valid_from
from raw_benchmarks
qualify row_number() over (partition by okpd2, parameter_code, valid_from order by arrival desc, row_in_file desc) = 1;

create or replace temp table stg_characteristics as
select cast(year as integer) as year, inn, okpd2, parameter_code, value as reported_value
from raw_characteristics
qualify row_number() over (partition by inn, okpd2, year, parameter_code order by arrival desc, row_in_file desc) = 1;


-- -------------------------------------------------------------------------------------------------
-- 8. Independence (metrics.md section 1; dbt: int_*_flows, macros/independence.sql)
-- -------------------------------------------------------------------------------------------------

-- One row per enterprise, product, region and quarter (int_producer_quarter_outputs).
create or replace temp table producer_outputs as
select
    stg_producer.period, stg_producer.year, stg_producer.inn, stg_producer.okpd2, products.project_code,
    cast(sum(output_value) as decimal(18, 3)) as output_value,
    cast(sum(components_cost) as decimal(18, 3)) as components_cost,
    cast(sum(imported_components_cost) as decimal(18, 3)) as imported_components_cost,
    cast(sum(case when technology_origin = 'domestic' then output_value else 0 end) as decimal(18, 3))
        as domestic_technology_output_value,
    cast(sum(rnd_expenses) as decimal(18, 3)) as rnd_expenses
from stg_producer
left join products
    on products.okpd2 = stg_producer.okpd2
group by all;

-- Customs imports and exports per product, partner and quarter (int_trade_partner_quarter).
create or replace temp table trade_partner_quarter as
select
    stg_trade.period, stg_trade.year, stg_trade.okpd2, products.project_code, stg_trade.partner_country,
    cast(sum(case when flow = 'import' then customs_value else 0 end) as decimal(18, 3)) as imports,
    cast(sum(case when flow = 'export' then customs_value else 0 end) as decimal(18, 3)) as exports
from stg_trade
left join products
    on products.okpd2 = stg_trade.okpd2
group by all;

-- The quarters reported: with producer reports, a trade file, or both (int_reported_quarters).
create or replace temp table reported_quarters as
select
    coalesce(p.period, t.period) as period,
    cast(substring(coalesce(p.period, t.period), 1, 4) as integer) as year,
    cast(substring(coalesce(p.period, t.period), 7, 1) as integer) as quarter,
    p.period is not null as has_producer_reports,
    t.period is not null as has_trade_file
from (select distinct period from producer_outputs) as p
full outer join (select distinct period from trade_partner_quarter) as t
    on t.period = p.period;

-- The three grains the four marts need, written once: a figure of a product in a quarter also counts
-- for its area in that quarter and for the product in that year.
create or replace temp table grains (entity_grain, time_grain) as values
    ('product', 'quarter'), ('area', 'quarter'), ('product', 'year');

-- Time buckets: a quarter, or a year of reported quarters. A yearly flow is NULL unless every
-- reported quarter of the year has it (metrics.md).
create or replace temp table time_buckets as
select 'quarter' as time_grain, period as bucket, year, quarter, 1 as quarters_reported,
       has_producer_reports as producer_reports_complete, has_trade_file as trade_files_complete
from reported_quarters
union all
select 'year', cast(year as varchar), year, null, count(*), bool_and(has_producer_reports), bool_and(has_trade_file)
from reported_quarters
group by year;

-- Every catalogue product (area) in force that year x every bucket, so that a product absent from a
-- quarter's files still has a row (a priority area counts from its available_from_year).
create or replace temp table grid as
with entities as (
    select 'product' as entity_grain, products.okpd2 as entity, products.okpd2, products.project_code,
           priority_areas.available_from_year
    from products
    inner join priority_areas
        on priority_areas.project_code = products.project_code
    union all
    select 'area', project_code, null, project_code, available_from_year
    from priority_areas
)

select entities.entity_grain, entities.entity, entities.okpd2, entities.project_code, time_buckets.*
from entities
inner join grains
    on grains.entity_grain = entities.entity_grain
inner join time_buckets
    on time_buckets.time_grain = grains.time_grain
where entities.available_from_year is null or time_buckets.year >= entities.available_from_year;

-- Producer sums per grain. producer_count and the top producer are taken per enterprise, after
-- summing its rows (an enterprise may report several products or regions).
create or replace temp table producer_totals as
with by_inn as (
    select
        grains.entity_grain, grains.time_grain,
        case grains.entity_grain when 'product' then o.okpd2 else o.project_code end as entity,
        case grains.time_grain when 'quarter' then o.period else cast(o.year as varchar) end as bucket,
        o.inn,
        sum(o.output_value) as output_value,
        sum(o.components_cost) as components_cost,
        sum(o.imported_components_cost) as imported_components_cost,
        sum(o.domestic_technology_output_value) as domestic_technology_output_value,
        sum(o.rnd_expenses) as rnd_expenses
    from producer_outputs as o
    cross join grains
    group by all
)

select
    entity_grain, time_grain, entity, bucket,
    sum(output_value) as output_value,
    sum(components_cost) as components_cost,
    sum(imported_components_cost) as imported_components_cost,
    sum(domestic_technology_output_value) as domestic_technology_output_value,
    sum(rnd_expenses) as rnd_expenses,
    count(case when output_value > 0 then inn end) as producer_count,
    max(output_value) as top_producer_output_value
from by_inn
group by all;

-- Customs sums per grain, with the partner concentration.
create or replace temp table trade_totals as
with by_partner as (
    select
        grains.entity_grain, grains.time_grain,
        case grains.entity_grain when 'product' then t.okpd2 else t.project_code end as entity,
        case grains.time_grain when 'quarter' then t.period else cast(t.year as varchar) end as bucket,
        t.partner_country,
        sum(t.imports) as imports,
        sum(t.exports) as exports
    from trade_partner_quarter as t
    cross join grains
    group by all
)

select
    entity_grain, time_grain, entity, bucket,
    sum(imports) as imports,
    sum(exports) as exports,
    -- sum of M_j^2 in exact decimal (38 digits: money squared overflows 18), as the dbt model does
    sum(cast(imports as decimal(38, 3)) * cast(imports as decimal(38, 3))) as imports_squared_sum,
    max(imports) as top_partner_imports,
    count(case when imports > 0 then partner_country end) as import_partner_count
from by_partner
group by all;

-- Flows per grain: 0 where the bucket has reports but none for this product; NULL where the bucket
-- lacks the producer reports (or the trade file) altogether.
create or replace temp table flows as
select
    grid.*,
    case when producer_reports_complete then coalesce(p.output_value, 0) end as output_value,
    case when producer_reports_complete then coalesce(p.components_cost, 0) end as components_cost,
    case when producer_reports_complete then coalesce(p.imported_components_cost, 0) end as imported_components_cost,
    case when producer_reports_complete then coalesce(p.domestic_technology_output_value, 0) end as domestic_technology_output_value,
    case when producer_reports_complete then coalesce(p.rnd_expenses, 0) end as rnd_expenses,
    case when producer_reports_complete then coalesce(p.producer_count, 0) end as producer_count,
    case when producer_reports_complete then coalesce(p.top_producer_output_value, 0) end as top_producer_output_value,
    case when trade_files_complete then coalesce(t.imports, 0) end as imports,
    case when trade_files_complete then coalesce(t.exports, 0) end as exports,
    case when trade_files_complete then coalesce(t.imports_squared_sum, 0) end as imports_squared_sum,
    case when trade_files_complete then coalesce(t.top_partner_imports, 0) end as top_partner_imports,
    case when trade_files_complete then coalesce(t.import_partner_count, 0) end as import_partner_count
from grid
left join producer_totals as p
    on p.entity_grain = grid.entity_grain and p.time_grain = grid.time_grain
    and p.entity = grid.entity and p.bucket = grid.bucket
left join trade_totals as t
    on t.entity_grain = grid.entity_grain and t.time_grain = grid.time_grain
    and t.entity = grid.entity and t.bucket = grid.bucket;

-- A ratio whose denominator is zero or missing is NULL (macros/arithmetic.sql).
create or replace temp macro ratio(numerator, denominator) as
    cast(numerator as double) / nullif(cast(denominator as double), 0);

-- The ratios of metrics.md section 1, in the published column types (macros/independence.sql).
create or replace temp table independence as
select
    entity_grain, time_grain, bucket, year, quarter, quarters_reported, okpd2, project_code,
    cast(producer_reports_complete as boolean) as producer_reports_complete,
    cast(trade_files_complete as boolean) as trade_files_complete,
    cast(output_value as decimal(18, 3)) as output_value,
    cast(imports as decimal(18, 3)) as imports,
    cast(exports as decimal(18, 3)) as exports,
    cast(apparent_consumption as decimal(18, 3)) as apparent_consumption,
    cast(apparent_consumption <= 0 as boolean) as consumption_nonpositive,
    -- C <= 0: import dependency and self-sufficiency are not defined
    cast(case when apparent_consumption > 0 then ratio(imports, apparent_consumption) end as double) as import_dependency,
    cast(case when apparent_consumption > 0 then ratio(output_value, apparent_consumption) end as double) as self_sufficiency,
    cast(case when apparent_consumption > 0 then 1 - ratio(imports, apparent_consumption) end as double) as domestic_share,
    cast(ratio(imports_squared_sum, cast(imports as decimal(38, 3)) * cast(imports as decimal(38, 3))) as double) as import_hhi,
    cast(ratio(top_partner_imports, imports) as double) as top_partner_share,
    cast(import_partner_count as integer) as import_partner_count,
    cast(components_cost as decimal(18, 3)) as components_cost,
    cast(imported_components_cost as decimal(18, 3)) as imported_components_cost,
    cast(1 - ratio(imported_components_cost, components_cost) as double) as localisation,
    cast(ratio(domestic_technology_output_value, output_value) as double) as domestic_technology_share,
    cast(rnd_expenses as decimal(18, 3)) as rnd_expenses,
    cast(ratio(rnd_expenses, output_value) as double) as rnd_intensity,
    cast(producer_count as integer) as producer_count,
    cast(ratio(top_producer_output_value, output_value) as double) as top1_share
from (select *, output_value + imports - exports as apparent_consumption from flows);

create schema if not exists marts;

create or replace table marts.product_independence as
select
    bucket as period, cast(year as integer) as year, cast(quarter as integer) as quarter, okpd2, project_code,
    * exclude (entity_grain, time_grain, bucket, year, quarter, quarters_reported, okpd2, project_code),
    -- metrics.md: import_dependency > 0.5 and import_hhi > 0.4
    cast(import_dependency > 0.5 and import_hhi > 0.4 as boolean) as strategic_dependency
from independence
where entity_grain = 'product' and time_grain = 'quarter';

create or replace table marts.area_independence as
with flagged_products as (
    -- the area's products flagged as strategic dependencies
    select project_code, period, count(*) filter (where strategic_dependency) as strategic_dependencies
    from marts.product_independence
    group by all
)

select
    independence.bucket as period, cast(independence.year as integer) as year,
    cast(independence.quarter as integer) as quarter, independence.project_code,
    independence.* exclude (entity_grain, time_grain, bucket, year, quarter, quarters_reported, okpd2, project_code),
    cast(coalesce(flagged_products.strategic_dependencies, 0) as integer) as strategic_dependencies
from independence
left join flagged_products
    on flagged_products.project_code = independence.project_code
    and flagged_products.period = independence.bucket
where independence.entity_grain = 'area' and independence.time_grain = 'quarter';


-- -------------------------------------------------------------------------------------------------
-- 9. Leadership against the best foreign analogue (metrics.md section 2; dbt: int_benchmarks_in_force,
--    int_producer_technical_levels, product_leadership, area_leadership)
-- -------------------------------------------------------------------------------------------------

-- The benchmark in force per product, parameter and year: the latest valid_from on or before
-- 31 December. Years: those with reported quarters or with characteristics.
create or replace temp table benchmarks_in_force as
select years.year, b.okpd2, b.parameter_code, b.direction, b.weight, b.best_value
from stg_benchmarks as b
inner join (
    select distinct year from reported_quarters
    union
    select distinct year from stg_characteristics
) as years
    on extract(year from b.valid_from) <= years.year
qualify row_number() over (partition by years.year, b.okpd2, b.parameter_code order by b.valid_from desc) = 1;

create or replace temp table benchmark_sets as
select okpd2, year, count(*) as benchmark_parameters
from benchmarks_in_force
group by all;

-- K_i = exp(sum_k w_k ln q'_k / sum_k w_k), q = v / b (higher is better) or b / v (lower), capped
-- at 1.5; NULL unless the enterprise reported every parameter of the year's benchmark set. The sums
-- are exact (decimal), as in the dbt model, so that the result does not depend on summation order.
create or replace temp table producer_technical_levels as
with ratios as (
    select
        c.inn, c.okpd2, c.year, b.weight,
        case when b.direction = 'lower' then ratio(b.best_value, c.reported_value)
             else ratio(c.reported_value, b.best_value) end as q
    from stg_characteristics as c
    inner join benchmarks_in_force as b
        on b.okpd2 = c.okpd2 and b.year = c.year and b.parameter_code = c.parameter_code
),

scores as (
    select inn, okpd2, year, weight, case when q > 1.5 then 1.5 else q end as capped_ratio
    from ratios
)

select
    reporting.inn, reporting.okpd2, reporting.year,
    case when count(scores.capped_ratio) = benchmark_sets.benchmark_parameters then
        exp(ratio(cast(sum(cast(scores.weight * ln(scores.capped_ratio) as decimal(38, 18))) as double),
                  cast(sum(cast(scores.weight as decimal(38, 18))) as double)))
    end as technical_level
from (select distinct inn, okpd2, year from stg_characteristics) as reporting
inner join benchmark_sets
    on benchmark_sets.okpd2 = reporting.okpd2 and benchmark_sets.year = reporting.year
left join scores
    on scores.inn = reporting.inn and scores.okpd2 = reporting.okpd2 and scores.year = reporting.year
group by reporting.inn, reporting.okpd2, reporting.year, benchmark_sets.benchmark_parameters;

-- One row per product and year of the yearly independence grid; technical_level is the best
-- producer's K, compared with 1.0 and 0.8 after rounding to 9 decimals (macros/arithmetic.sql reaches).
create or replace table marts.product_leadership as
with levels as (
    select
        okpd2, year,
        count(*) as producers_reporting,
        count(technical_level) as producers_assessed,
        max(technical_level) as technical_level,
        median(technical_level) as technical_level_median
    from producer_technical_levels
    group by all
)

select
    cast(products.year as integer) as year,
    cast(products.quarters_reported as integer) as quarters_reported,
    products.okpd2,
    products.project_code,
    cast(products.output_value as decimal(18, 3)) as output_value,
    cast(coalesce(benchmark_sets.benchmark_parameters, 0) as integer) as benchmark_parameters,
    cast(coalesce(levels.producers_reporting, 0) as integer) as producers_reporting,
    cast(coalesce(levels.producers_assessed, 0) as integer) as producers_assessed,
    cast(coalesce(levels.producers_reporting, 0) - coalesce(levels.producers_assessed, 0) as integer) as producers_incomplete,
    cast(levels.technical_level as double) as technical_level,
    cast(levels.technical_level_median as double) as technical_level_median,
    case
        when levels.technical_level is null then 'not_assessed'
        when round(levels.technical_level, 9) >= 1.0 then 'leader'
        when round(levels.technical_level, 9) >= 0.8 then 'comparable'
        else 'lagging'
    end as band
from independence as products
left join benchmark_sets
    on benchmark_sets.okpd2 = products.okpd2 and benchmark_sets.year = products.year
left join levels
    on levels.okpd2 = products.okpd2 and levels.year = products.year
where products.entity_grain = 'product' and products.time_grain = 'year';

-- leadership_share = yearly output of the area's leader products / that of its assessed products;
-- NULL when an assessed product's yearly output is unknown.
create or replace table marts.area_leadership as
with areas as (
    select
        project_code,
        year,
        max(quarters_reported) as quarters_reported,
        count(case when band = 'leader' then okpd2 end) as products_leader,
        count(case when band = 'comparable' then okpd2 end) as products_comparable,
        count(case when band = 'lagging' then okpd2 end) as products_lagging,
        count(case when band = 'not_assessed' then okpd2 end) as products_not_assessed,
        count(case when band <> 'not_assessed' and output_value is null then okpd2 end) as assessed_without_output,
        sum(case when band <> 'not_assessed' then output_value end) as assessed_output_value,
        coalesce(sum(case when band = 'leader' then output_value end), 0) as leader_output_value
    from marts.product_leadership
    group by all
)

select
    project_code,
    cast(year as integer) as year,
    cast(quarters_reported as integer) as quarters_reported,
    cast(products_leader as integer) as products_leader,
    cast(products_comparable as integer) as products_comparable,
    cast(products_lagging as integer) as products_lagging,
    cast(products_not_assessed as integer) as products_not_assessed,
    cast(products_leader + products_comparable + products_lagging as integer) as products_assessed,
    cast(case when assessed_without_output = 0 then assessed_output_value end as decimal(18, 3)) as assessed_output_value,
    cast(case when assessed_without_output = 0 and assessed_output_value is not null then leader_output_value end
        as decimal(18, 3)) as leader_output_value,
    cast(case when assessed_without_output = 0 then ratio(leader_output_value, assessed_output_value) end as double)
        as leadership_share
from areas;
