-- Per ticker and date: 60-bar correlation and beta of 1-bar log returns to the benchmark ticker,
-- and 20-bar log return relative to the universe median. Null until the whole window exists.
with bars as (
    select
        ticker,
        date,
        ln(adj_close / lag(adj_close) over w) as ret_1,
        ln(adj_close / lag(adj_close, 20) over w) as ret_20
    from {{ source('lake', 'validated_bars') }}
    where date between $lookback_start and $end_date
    window w as (partition by ticker order by date)
),
benchmark as (
    select date, ret_1 as bench_ret from bars where ticker = $benchmark_ticker
),
rolling as (
    select
        b.ticker,
        b.date,
        b.ret_20,
        corr(b.ret_1, k.bench_ret) over w60 as corr_60,
        covar_samp(b.ret_1, k.bench_ret) over w60 / var_samp(k.bench_ret) over w60 as beta_60,
        count(b.ret_1 + k.bench_ret) over w60 as pairs_60
    from bars b
    left join benchmark k on k.date = b.date
    window w60 as (partition by b.ticker order by b.date rows between 59 preceding and current row)
),
universe as (
    select date, median(ret_20) as median_ret_20 from bars group by date
)
select
    r.ticker,
    r.date,
    case when r.pairs_60 = 60 then r.corr_60 end as corr_bench_60,
    case when r.pairs_60 = 60 then r.beta_60 end as beta_bench_60,
    r.ret_20 - u.median_ret_20 as rel_strength_20
from rolling r
join universe u on u.date = r.date
where r.date between $start_date and $end_date
order by r.ticker, r.date
