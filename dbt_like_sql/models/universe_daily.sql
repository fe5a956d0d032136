-- Per trading date: how many tickers traded, their median and mean 1-bar log return, and breadth.
with bars as (
    select
        ticker,
        date,
        ln(adj_close / lag(adj_close) over (partition by ticker order by date)) as ret_1
    from {{ source('lake', 'validated_bars') }}
    where date between $lookback_start and $end_date
)
select
    date,
    count(*)::integer as n_tickers,
    median(ret_1) as median_ret_1,
    avg(ret_1) as mean_ret_1,
    avg(case when ret_1 > 0 then 1.0 when ret_1 is not null then 0.0 end) as breadth
from bars
where date between $start_date and $end_date
group by date
order by date
