-- One row per feature row (ticker, date): the features, the cross-asset features and the labels
-- of that same ticker AND date. Labels are NULL where none exist yet (near the end of history).
-- Rows of different dates are never joined.
select
    f.*,
    c.corr_bench_60,
    c.beta_bench_60,
    c.rel_strength_20,
    l.* exclude (ticker, date)
from {{ source('lake', 'features') }} as f
left join {{ ref('cross_asset_features') }} as c
    on c.ticker = f.ticker and c.date = f.date
left join {{ source('lake', 'labels') }} as l
    on l.ticker = f.ticker and l.date = f.date
where f.date between $start_date and $end_date
order by f.ticker, f.date
