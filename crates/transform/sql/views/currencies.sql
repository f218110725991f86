-- The currencies prices are converted to: the base first, then the configured ones
-- (`{currency_rows}`: `('USD'), ('EUR'), ...`, each once).
--
-- VALUES, which plans as one in-memory scan that Ballista ships with the plan. Not a UNION
-- ALL of constant SELECTs: Ballista 55 splits a union's partitions between tasks and stands
-- an extra scan in for each skipped constant branch, so tasks of one stage report different
-- numbers of operator metrics and the scheduler drops their status (the job hangs or loses
-- a task's output).
SELECT column1 AS currency FROM (VALUES {currency_rows})
