-- Per currency pair and day: open, high, low and close of the quotes fetched.
SELECT CAST(rate_time AS DATE) AS date, base, quote,
       first_value(rate ORDER BY rate_time) AS open,
       MAX(rate) AS high,
       MIN(rate) AS low,
       last_value(rate ORDER BY rate_time) AS close
FROM fx
GROUP BY 1, 2, 3
ORDER BY quote, date
