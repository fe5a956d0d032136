-- Features, cross-asset features and labels of the same ticker and date; every feature row is kept.
select
    f.*,
    c.corr_bench_60,
    c.beta_bench_60,
    c.rel_strength_20,
    l.* exclude (ticker, date)
from {{ source('lake', 'features') }} f
left join {{ ref('cross_asset_features') }} c on c.ticker = f.ticker and c.date = f.date
left join {{ source('lake', 'labels') }} l on l.ticker = f.ticker and l.date = f.date
where f.date between $start_date and $end_date
order by f.ticker, f.date
