{#- The intake's file inventory: the one staging model that reads every source, since it
    reconciles the files themselves (the quality mart counts raw rows here, not in the
    staged tables, which may keep rows a rewritten file no longer holds). On DuckDB a
    Parquet file's rows are counted from its footer (macro raw_file_rows), so the inventory
    reads no data pages; CSV files and Spark's tables are counted row by row. -#}

with raw_files as (

    {{ raw_file_rows(raw_tables()) }}

)

select * from raw_files
