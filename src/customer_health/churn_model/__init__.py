"""The churn model: a binned logistic scorecard trained walk-forward on month-end observations.

`scorecard` fits and applies it (NumPy and scikit-learn), `dbt_model` is the body of the dbt
Python model that trains it on DuckDB, `cli` trains it outside dbt (engines without Python
models) and proposes category weights from it.
"""
