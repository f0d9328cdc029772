{% macro midrank_percentile(value, partition) %}
    {#- The mid-rank percentile (0-1) of `value` within the window partition `partition`
        (a comma-separated list of expressions): (rows below + half the rows equal) / rows.
        A value every row shares sits at 0.5; the lowest of n distinct values at 1 / (2n).
        Rows are counted as they are given: filter null values out first. Built from
        percent_rank (rows below / (n - 1)) and cume_dist (rows at or below / n), which every
        engine has. -#}
    (
        percent_rank() over (partition by {{ partition }} order by {{ value }})
        * (count(*) over (partition by {{ partition }}) - 1)
        + cume_dist() over (partition by {{ partition }} order by {{ value }})
        * count(*) over (partition by {{ partition }})
    )
    / (2 * count(*) over (partition by {{ partition }}))
{%- endmacro %}
