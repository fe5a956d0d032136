-- Per ticker and date:
--   corr_bench_60   correlation of the ticker's 1-bar log returns (adj_close) with the benchmark
--                   ticker's ($benchmark_ticker) returns of the same dates, over the ticker's last
--                   60 bars (rows between 59 preceding and current row);
--   beta_bench_60   covar_samp / var_samp(benchmark) over the same 60 bars;
--   rel_strength_20 the ticker's 20-bar log return minus the median 20-bar log return of every
--                   ticker trading that date.
-- NULL until the whole window exists: all 60 pairs of returns (or the 20-bar return), never a
-- partial window. A return counts only when the bars it needs lie within the model's lookback
-- horizon ($start_date - $lookback_start days) of the output date, so a date's row is the same
-- whatever range it is run in, even around long gaps in a ticker's bars.
with bars as (
    select
        ticker,
        date,
        case when adj_close > 0 and lag(adj_close) over w > 0
            then ln(adj_close / lag(adj_close) over w) end as ret_1,
        lag(date) over w as prev_date,
        case when adj_close > 0 and lag(adj_close, 20) over w > 0
            then ln(adj_close / lag(adj_close, 20) over w) end as ret_20,
        lag(date, 20) over w as prev_date_20
    from {{ source('lake', 'validated_bars') }}
    where date between $lookback_start and $end_date
    window w as (partition by ticker order by date)
),

benchmark as (
    select date, ret_1 as bench_ret, prev_date as bench_prev_date
    from bars
    where ticker = $benchmark_ticker
),

rolling as (
    select
        b.ticker,
        b.date,
        count(b.ret_1 + k.bench_ret) over w60 as n_pairs,
        min(least(b.prev_date, k.bench_prev_date)) over w60 as window_start,
        corr(b.ret_1, k.bench_ret) over w60 as corr_60,
        covar_samp(b.ret_1, k.bench_ret) over w60 as covar_60,
        var_samp(b.ret_1) over w60 as var_60,
        var_samp(k.bench_ret) over w60 as bench_var_60
    from bars as b
    left join benchmark as k on k.date = b.date
    window w60 as (partition by b.ticker order by b.date rows between 59 preceding and current row)
),

strength as (
    select
        ticker,
        date,
        case when date - prev_date_20 <= $start_date - $lookback_start then ret_20 end as ret_20
    from bars
    where date between $start_date and $end_date
),

universe as (
    select date, median(ret_20) as median_ret_20
    from strength
    group by date
),

full_windows as (
    select
        ticker,
        date,
        n_pairs = 60 and date - window_start <= $start_date - $lookback_start as is_full,
        corr_60,
        covar_60,
        var_60,
        bench_var_60
    from rolling
    where date between $start_date and $end_date
)

select
    s.ticker,
    s.date,
    case when f.is_full and f.var_60 > 0 and f.bench_var_60 > 0
        then greatest(-1.0, least(1.0, f.corr_60)) end as corr_bench_60,
    case when f.is_full and f.bench_var_60 > 0
        then f.covar_60 / f.bench_var_60 end as beta_bench_60,
    s.ret_20 - u.median_ret_20 as rel_strength_20
from strength as s
join full_windows as f on f.ticker = s.ticker and f.date = s.date
join universe as u on u.date = s.date
order by s.ticker, s.date
