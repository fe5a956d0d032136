-- Per trading date: how many tickers traded, the median and mean 1-bar log return of adj_close
-- across tickers, and breadth (the share of tickers with a return that rose).
--
-- A ticker's return on a date uses its previous bar, and only when that bar lies within the
-- model's lookback horizon ($start_date - $lookback_start days) of the date: a date's row then
-- depends on the same bars whatever range it is run in (a ticker back from a halt longer than the
-- horizon has no return on its first bar back).
with bars as (
    select
        ticker,
        date,
        adj_close,
        lag(adj_close) over w as prev_close,
        lag(date) over w as prev_date
    from {{ source('lake', 'validated_bars') }}
    where date between $lookback_start and $end_date
    window w as (partition by ticker order by date)
),

returns as (
    select
        date,
        case
            when adj_close > 0 and prev_close > 0 and date - prev_date <= $start_date - $lookback_start
                then ln(adj_close / prev_close)
        end as ret_1
    from bars
    where date between $start_date and $end_date
)

select
    date,
    count(*)::integer as n_tickers,
    median(ret_1) as median_ret_1,
    avg(case when ret_1 > 0 then 1.0 when ret_1 is not null then 0.0 end) as breadth,
    avg(ret_1) as mean_ret_1
from returns
group by date
order by date
