"""Build, test, publish: the serving copy of the warehouse that BI tools read.

`dbt build` writes to the build database. Only when it ends with every error-severity test
passing, and the release gates hold (no served mart that must have rows is empty, no table
shrinks too much, the as-of date does not move backwards), is a new release published: the
serving DuckDB file is replaced by a rename (readers see the old file or the new one, never a
mix) and the marts are exported as Parquet.
"""
