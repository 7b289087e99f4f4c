-- wrk script: like search.lua, but every request is a question never asked before (a
-- counter is appended), so the query-embedding cache never hits: the cold-path figure.
local queries = {}
for line in io.lines("bench/queries.txt") do
  if #line > 0 then table.insert(queries, line) end
end
local i = 0
local n = 0
setup = function(thread)
  n = n + 1
  thread:set("offset", n * 1000000)
end
request = function()
  i = i + 1
  local q = string.format("%s %d", queries[i % #queries + 1], (offset or 0) + i)
  local body = string.format('{"query": %q, "k": 8}', q)
  return wrk.format("POST", "/api/v1/search", { ["Content-Type"] = "application/json" }, body)
end
done = function(summary, latency, requests)
  io.write(string.format("  p50 %.2f ms  p95 %.2f ms  p99 %.2f ms  %.0f req/s  errors %d\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6),
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
